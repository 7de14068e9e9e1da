#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

// A fast PNG writer on libpng's full API, for restores: the "up" filter on every row and a
// chosen zlib level (1 writes about 1.5x faster and 20 % smaller than the simplified API's
// PNG_IMAGE_FLAG_FAST, which uses no filter and level 3). libpng reports errors by longjmp,
// which Swift cannot catch, so the calls live here.

typedef struct {
    unsigned char *data;
    size_t size;
    size_t capacity;
    char message[192];
} nacre_png_output;

static void nacre_png_append(png_structp png, png_bytep bytes, size_t length) {
    nacre_png_output *output = (nacre_png_output *)png_get_io_ptr(png);
    if (output->size + length > output->capacity) {
        size_t capacity = output->capacity * 2 + length;
        unsigned char *grown = (unsigned char *)realloc(output->data, capacity);
        if (grown == NULL) png_error(png, "out of memory while writing the PNG");
        output->data = grown;
        output->capacity = capacity;
    }
    memcpy(output->data + output->size, bytes, length);
    output->size += length;
}

static void nacre_png_flush(png_structp png) { (void)png; }

static void nacre_png_error(png_structp png, png_const_charp message) {
    nacre_png_output *output = (nacre_png_output *)png_get_error_ptr(png);
    strncpy(output->message, message, sizeof(output->message) - 1);
    output->message[sizeof(output->message) - 1] = 0;
    png_longjmp(png, 1);
}

static void nacre_png_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

/// Writes rows of `row_bytes` bytes (big-endian samples for bit depth 16) as a non-interlaced
/// PNG with an sRGB chunk. On success returns 1 and `output->data` (malloc'ed, the caller frees
/// it) holds `output->size` bytes; on failure returns 0 with `output->message` set.
static inline int nacre_png_write_rows(const unsigned char *rows, unsigned width, unsigned height, int bit_depth,
                                       int color_type, size_t row_bytes, int zlib_level, nacre_png_output *output) {
    output->data = NULL;
    output->size = 0;
    output->capacity = 0;
    output->message[0] = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, output, nacre_png_error, nacre_png_warning);
    if (png == NULL) {
        strcpy(output->message, "libpng could not allocate its writer");
        return 0;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(output->data);
        output->data = NULL;
        if (output->message[0] == 0) strcpy(output->message, "libpng could not allocate its writer");
        return 0;
    }
    output->capacity = row_bytes * height / 2 + 4096;
    output->data = (unsigned char *)malloc(output->capacity);
    if (output->data == NULL) png_error(png, "out of memory while writing the PNG");
    png_set_write_fn(png, output, nacre_png_append, nacre_png_flush);
    png_set_IHDR(png, info, width, height, bit_depth, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE,
                 PNG_FILTER_TYPE_BASE);
    png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_UP);
    png_set_compression_level(png, zlib_level);
    png_write_info(png, info);
    for (unsigned row = 0; row < height; row++) png_write_row(png, rows + (size_t)row * row_bytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 1;
}
