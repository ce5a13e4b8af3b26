# A common mistake: copy the whole project before installing dependencies,
# so any source edit invalidates the (slow) dependency install.
FROM layerprof/busybox
WORKDIR /app
COPY . .
# "npm ci": reads only the manifest, takes ~3 s
RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt
RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js
