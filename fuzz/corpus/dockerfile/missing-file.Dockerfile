FROM layerprof/busybox
WORKDIR /app
# requirements.txt is not in the context: this step fails.
COPY requirements.txt /app/
COPY app.py /app/
RUN cat /app/requirements.txt
