/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef LAYERPROF_VERSION_H
#define LAYERPROF_VERSION_H
#define LAYERPROF_VERSION "0.2.0"
#endif
