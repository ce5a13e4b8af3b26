FROM layerprof/busybox AS left
RUN for i in 1 2 3 4; do echo "left $i"; sleep 1.2; done > /dev/stderr; echo left > /l.txt

FROM layerprof/busybox AS right
RUN for i in 1 2 3 4; do echo "right $i"; sleep 1.2; done; echo right > /r.txt

FROM layerprof/busybox
COPY --from=left /l.txt /
COPY --from=right /r.txt /
