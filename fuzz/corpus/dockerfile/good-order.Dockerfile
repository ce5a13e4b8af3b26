# The fix: copy the manifest first, install, then copy the rest.
FROM layerprof/busybox
WORKDIR /app
COPY package.json ./
# "npm ci": reads only the manifest, takes ~3 s
RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt
COPY . .
RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js
