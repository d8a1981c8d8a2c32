#ifndef LATENT_CPNG_SHIM_H
#define LATENT_CPNG_SHIM_H
#include <png.h>
// PNG_IMAGE_SIZE and friends are macros Swift cannot import.
static inline size_t latent_png_image_row_stride(const png_image *image) {
    return PNG_IMAGE_ROW_STRIDE(*image);
}
static inline size_t latent_png_image_buffer_size(const png_image *image) {
    return PNG_IMAGE_BUFFER_SIZE(*image, PNG_IMAGE_ROW_STRIDE(*image));
}
static inline int latent_png_image_failed(const png_image *image) {
    return PNG_IMAGE_FAILED(*image);
}
// An upper bound on the encoded size, so png_image_write_to_memory can run once
// into a preallocated buffer instead of twice (once to measure).
static inline png_alloc_size_t latent_png_image_png_size_max(const png_image *image) {
    return PNG_IMAGE_PNG_SIZE_MAX(*image);
}
#endif
