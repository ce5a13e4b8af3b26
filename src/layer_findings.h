/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Findings from layer provenance (docs/architecture.md, "Layer
 * provenance"): what a later step did to the files an earlier step's
 * layer holds.
 *   clobbered-files     a COPY/ADD wrote over files a RUN made (an
 *                       installer's node_modules/, site-packages/...)
 *   wasted-layer-bytes  files one step made and a later step of an image
 *                       stage deleted or wrote again: the image carries
 *                       their bytes for nothing
 *   secret-in-layer     a secret-looking file made in one layer and removed
 *                       or replaced in a later one: it stays in the image
 * Registered by lp_analyze() (analyze.c); reads the model alone.
 */
#ifndef LAYERPROF_LAYER_FINDINGS_H
#define LAYERPROF_LAYER_FINDINGS_H

#include "model.h"

void lp_layer_findings(struct lp_model *m);

#endif
