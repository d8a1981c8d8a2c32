#ifndef LATENT_CGIF_SHIM_H
#define LATENT_CGIF_SHIM_H
#include <gif_lib.h>
#endif
