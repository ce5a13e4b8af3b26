# escape=`
ARG BASE=layerprof/busybox
FROM scratch AS s0
COPY x /x

FROM ${BASE}
USER root
LABEL a=b
EXPOSE 80
COPY --from=s0 /x /y
RUN echo one `
    two
RUN echo a\b
