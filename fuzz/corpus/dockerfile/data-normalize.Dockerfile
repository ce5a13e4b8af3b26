FROM layerprof/busybox as Builder
ENV DIR=/opt/x NAME="my app"
ARG VER=1.2
workdir $DIR
run echo "hello $NAME" 'single $NAME' \
  # a comment inside continuation
  && echo ${VER}   \
	&& echo done
COPY ["b c.txt", "a.txt", "/dst/"]
ADD --chown=1:1 a.txt $DIR/
RUN echo  two   spaces	tab
RUN ["echo", "$NAME", "x"]
RUN echo a\
b

FROM builder
COPY --from=Builder /dst/a.txt /a
COPY --from=0 /dst/a.txt /a0
COPY a.txt /l
RUN false || true
