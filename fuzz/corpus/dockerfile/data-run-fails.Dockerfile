FROM layerprof/busybox
WORKDIR /w
RUN echo "compiling..." && echo "warning: something" >&2 && ls /nonexistent/dir && echo never
