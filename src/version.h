/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef LAYERPROF_VERSION_H
#define LAYERPROF_VERSION_H
#define LAYERPROF_VERSION "0.1.0"
#endif
