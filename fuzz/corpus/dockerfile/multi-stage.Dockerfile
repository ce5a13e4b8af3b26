# Two stages: "build" makes an artifact, "runtime" copies only the artifact.
FROM layerprof/busybox AS build
WORKDIR /src
COPY main.c lib.c ./
RUN mkdir -p /out && \
    cat main.c lib.c > /out/app.txt && \
    sha256sum /out/app.txt > /out/app.sha256

FROM layerprof/busybox AS runtime
COPY --from=build /out/app.txt /out/app.sha256 /usr/local/share/app/
COPY --chown=0:0 config.ini /etc/app/config.ini
RUN ["sh", "-c", "cat /etc/app/config.ini > /dev/null"]
CMD ["cat", "/usr/local/share/app/app.txt"]
