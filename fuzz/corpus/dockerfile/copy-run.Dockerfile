FROM layerprof/busybox
WORKDIR /app
COPY a.txt ./
RUN cat a.txt > b.txt && ls -la /app
COPY . /src/
