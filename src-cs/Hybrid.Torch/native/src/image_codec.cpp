// Image codecs: JPEG (libjpeg-turbo) and PNG (libpng), decoded from and encoded to memory.
//
// Pixels are interleaved HWC uint8. Decoded images have 1 channel (grayscale, or palette
// indices when the PNG has a palette, which is then returned alongside) or 3 (RGB); alpha is
// dropped. Buffers handed to the caller are malloc'd and released with hy_image_free.
//
// Both libraries report fatal errors by longjmp. The functions that call setjmp below hold
// only plain pointers (no C++ objects with destructors), and free them on the error path, so
// a corrupt or truncated file becomes an error in the thread-local slot, never a crash.
#include "hybrid.h"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

// Exported like every entry, under its own name so that scripts/gen_native.py (which binds the
// tensor entries into Hybrid.Torch) leaves these to Hybrid.Data's Imaging/NativeCodec.cs.
#define HY_CODEC_API HY_API

namespace {

constexpr int kMessageSize = 256;
constexpr int64_t kMaxPixels = int64_t(1) << 30;  // refuse absurd headers before allocating

// ---------------------------------------------------------------- PNG decode

struct PngReadContext {
  const uint8_t* data;
  size_t size;
  size_t offset;
  char message[kMessageSize];
};

void png_fail(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<PngReadContext*>(png_get_error_ptr(png));
  std::snprintf(ctx->message, kMessageSize, "%s", msg);
  png_longjmp(png, 1);
}

void png_quiet(png_structp, png_const_charp) {}

void png_read_memory(png_structp png, png_bytep out, png_size_t count) {
  auto* ctx = static_cast<PngReadContext*>(png_get_io_ptr(png));
  if (ctx->size - ctx->offset < count) png_error(png, "truncated PNG data (file ends early)");
  std::memcpy(out, ctx->data + ctx->offset, count);
  ctx->offset += count;
}

// Returns the pixel buffer or nullptr with ctx->message filled.
uint8_t* decode_png(PngReadContext* ctx, int32_t* width, int32_t* height, int32_t* channels,
                    uint8_t* palette, int32_t* palette_size) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, png_fail, png_quiet);
  if (!png) {
    std::snprintf(ctx->message, kMessageSize, "libpng: out of memory");
    return nullptr;
  }
  png_infop info = png_create_info_struct(png);
  uint8_t* volatile pixels = nullptr;
  png_bytep* volatile rows = nullptr;
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(ctx->message, kMessageSize, "libpng: out of memory");
    return nullptr;
  }
  if (setjmp(png_jmpbuf(png))) {
    std::free(rows);
    std::free(pixels);
    png_destroy_read_struct(&png, &info, nullptr);
    return nullptr;
  }
  png_set_read_fn(png, ctx, png_read_memory);
  png_read_info(png, info);

  png_uint_32 w = png_get_image_width(png, info);
  png_uint_32 h = png_get_image_height(png, info);
  int color_type = png_get_color_type(png, info);
  int bit_depth = png_get_bit_depth(png, info);
  if (int64_t(w) * int64_t(h) > kMaxPixels) png_error(png, "PNG dimensions too large");

  int c = 0;
  *palette_size = 0;
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    // Keep the indices (VOC masks are class indices); unpack 1/2/4-bit indices to bytes.
    png_colorp plte = nullptr;
    int n = 0;
    if (png_get_PLTE(png, info, &plte, &n) == 0 || n <= 0) png_error(png, "palette PNG without PLTE");
    for (int i = 0; i < n; ++i) {
      palette[3 * i + 0] = plte[i].red;
      palette[3 * i + 1] = plte[i].green;
      palette[3 * i + 2] = plte[i].blue;
    }
    *palette_size = n;
    if (bit_depth < 8) png_set_packing(png);
    c = 1;
  } else if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
    if (bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_strip_alpha(png);
    c = 1;
  } else {
    if (color_type == PNG_COLOR_TYPE_RGB_ALPHA) png_set_strip_alpha(png);
    c = 3;
  }
  if (bit_depth == 16) png_set_strip_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != size_t(w) * size_t(c)) png_error(png, "unexpected PNG row layout");

  pixels = static_cast<uint8_t*>(std::malloc(size_t(w) * h * c));
  rows = static_cast<png_bytep*>(std::malloc(sizeof(png_bytep) * h));
  if (!pixels || !rows) png_error(png, "out of memory for PNG pixels");
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = pixels + size_t(y) * w * c;
  png_read_image(png, rows);
  png_read_end(png, nullptr);

  std::free(rows);
  png_destroy_read_struct(&png, &info, nullptr);
  *width = int32_t(w);
  *height = int32_t(h);
  *channels = c;
  return pixels;
}

// ---------------------------------------------------------------- JPEG decode

struct JpegError {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  char message[kMessageSize];
};

void jpeg_fail(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  char buffer[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, buffer);
  std::snprintf(err->message, kMessageSize, "%s", buffer);
  std::longjmp(err->jump, 1);
}

// Warnings that mean the pixels are not what the file was meant to hold (truncation, damaged
// entropy data) are errors here; harmless ones (extra bytes between markers, unknown JFIF
// revision) are tolerated, as real datasets contain such files.
void jpeg_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
      jpeg_fail(cinfo);
      break;
    default:
      cinfo->err->num_warnings++;
  }
}

uint8_t* decode_jpeg(const uint8_t* data, size_t size, int32_t* width, int32_t* height,
                     int32_t* channels, char* message) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  uint8_t* volatile pixels = nullptr;
  uint8_t* volatile row = nullptr;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_message;
  err.message[0] = 0;
  if (setjmp(err.jump)) {
    std::snprintf(message, kMessageSize, "%s", err.message);
    std::free(row);
    std::free(pixels);
    jpeg_destroy_decompress(&cinfo);
    return nullptr;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);

  bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  if (cinfo.jpeg_color_space == JCS_GRAYSCALE) cinfo.out_color_space = JCS_GRAYSCALE;
  else if (cmyk) cinfo.out_color_space = JCS_CMYK;
  else cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);

  const int32_t w = int32_t(cinfo.output_width), h = int32_t(cinfo.output_height);
  const int32_t out_c = cinfo.output_components;  // 1, 3 or 4 (CMYK)
  const int32_t c = cmyk ? 3 : out_c;
  if (int64_t(w) * int64_t(h) > kMaxPixels) ERREXIT(&cinfo, JERR_IMAGE_TOO_BIG);
  pixels = static_cast<uint8_t*>(std::malloc(size_t(w) * h * c));
  row = static_cast<uint8_t*>(std::malloc(size_t(w) * out_c));
  if (!pixels || !row) ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 0);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW r = row;
    size_t y = cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &r, 1);
    uint8_t* dst = pixels + y * w * c;
    if (!cmyk) {
      std::memcpy(dst, row, size_t(w) * c);
    } else {
      // Adobe CMYK JPEGs store inverted ink values, so R = C * K / 255 (and likewise G, B).
      for (int32_t x = 0; x < w; ++x) {
        const uint8_t* s = row + 4 * x;
        dst[3 * x + 0] = uint8_t((s[0] * s[3] + 127) / 255);
        dst[3 * x + 1] = uint8_t((s[1] * s[3] + 127) / 255);
        dst[3 * x + 2] = uint8_t((s[2] * s[3] + 127) / 255);
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  std::free(row);
  *width = w;
  *height = h;
  *channels = c;
  return pixels;
}

// ---------------------------------------------------------------- PNG encode

struct PngWriteContext {
  uint8_t* data;
  size_t size;
  size_t capacity;
  bool failed;
  char message[kMessageSize];
};

void png_write_memory(png_structp png, png_bytep in, png_size_t count) {
  auto* ctx = static_cast<PngWriteContext*>(png_get_io_ptr(png));
  if (ctx->size + count > ctx->capacity) {
    size_t capacity = ctx->capacity ? ctx->capacity : 4096;
    while (capacity < ctx->size + count) capacity *= 2;
    auto* grown = static_cast<uint8_t*>(std::realloc(ctx->data, capacity));
    if (!grown) png_error(png, "out of memory while encoding PNG");
    ctx->data = grown;
    ctx->capacity = capacity;
  }
  std::memcpy(ctx->data + ctx->size, in, count);
  ctx->size += count;
}

void png_flush_memory(png_structp) {}

void png_write_fail(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<PngWriteContext*>(png_get_error_ptr(png));
  std::snprintf(ctx->message, kMessageSize, "%s", msg);
  png_longjmp(png, 1);
}

bool encode_png(PngWriteContext* ctx, const uint8_t* pixels, int32_t w, int32_t h, int32_t c,
                const uint8_t* palette, int32_t palette_size) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, png_write_fail, png_quiet);
  if (!png) {
    std::snprintf(ctx->message, kMessageSize, "libpng: out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  png_bytep* volatile rows = nullptr;
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    std::snprintf(ctx->message, kMessageSize, "libpng: out of memory");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    std::free(rows);
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, ctx, png_write_memory, png_flush_memory);
  int color_type = palette_size > 0 ? PNG_COLOR_TYPE_PALETTE
                   : c == 1         ? PNG_COLOR_TYPE_GRAY
                   : c == 3         ? PNG_COLOR_TYPE_RGB
                                    : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_IHDR(png, info, png_uint_32(w), png_uint_32(h), 8, color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette_size > 0) {
    png_color plte[256];
    for (int i = 0; i < palette_size; ++i) {
      plte[i].red = palette[3 * i + 0];
      plte[i].green = palette[3 * i + 1];
      plte[i].blue = palette[3 * i + 2];
    }
    png_set_PLTE(png, info, plte, palette_size);
  }
  png_write_info(png, info);
  rows = static_cast<png_bytep*>(std::malloc(sizeof(png_bytep) * size_t(h)));
  if (!rows) png_error(png, "out of memory while encoding PNG");
  for (int32_t y = 0; y < h; ++y) rows[y] = const_cast<png_bytep>(pixels + size_t(y) * w * c);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  std::free(rows);
  png_destroy_write_struct(&png, &info);
  return true;
}

// ---------------------------------------------------------------- JPEG encode

bool encode_jpeg(const uint8_t* pixels, int32_t w, int32_t h, int32_t c, int32_t quality,
                 uint8_t** out, unsigned long* out_size, char* message) {
  jpeg_compress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.message[0] = 0;
  if (setjmp(err.jump)) {
    std::snprintf(message, kMessageSize, "%s", err.message);
    // The buffer of jpeg_mem_dest may have been reallocated behind *out; only a failed
    // allocation gets here, and leaking is safer than freeing a stale pointer.
    jpeg_destroy_compress(&cinfo);
    *out = nullptr;
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, out, out_size);
  cinfo.image_width = JDIMENSION(w);
  cinfo.image_height = JDIMENSION(h);
  cinfo.input_components = c;
  cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW r = const_cast<JSAMPROW>(pixels + size_t(cinfo.next_scanline) * w * c);
    jpeg_write_scanlines(&cinfo, &r, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

bool is_png(const uint8_t* data, int64_t size) {
  return size >= 8 && png_sig_cmp(data, 0, 8) == 0;
}

bool is_jpeg(const uint8_t* data, int64_t size) {
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

}  // namespace

// Decodes a JPEG or PNG held in memory (format from the signature). On success returns the
// HWC pixels (free with hy_image_free) and fills width, height, channels (1 or 3) and, for a
// palette PNG, palette (room for 256 RGB triples = 768 bytes) and palette_size (else 0).
// Returns nullptr on error (message in hy_last_error()).
HY_CODEC_API uint8_t* hy_image_decode(const uint8_t* data, int64_t size, int32_t* width, int32_t* height,
                                int32_t* channels, uint8_t* palette, int32_t* palette_size) {
  HY_TRY(nullptr, {
    *palette_size = 0;
    if (!data || size <= 0) {
      hy::set_error("empty file (0 bytes)");
      return nullptr;
    }
    if (is_png(data, size)) {
      PngReadContext ctx{data, size_t(size), 0, {0}};
      uint8_t* pixels = decode_png(&ctx, width, height, channels, palette, palette_size);
      if (!pixels) hy::set_error(std::string("corrupt PNG: ") + ctx.message);
      return pixels;
    }
    if (is_jpeg(data, size)) {
      char message[kMessageSize] = {0};
      uint8_t* pixels = decode_jpeg(data, size_t(size), width, height, channels, message);
      if (!pixels) hy::set_error(std::string("corrupt JPEG: ") + message);
      return pixels;
    }
    hy::set_error("not a JPEG or PNG file (unrecognised signature)");
    return nullptr;
  })
}

// Releases a buffer returned by hy_image_decode / hy_image_encode_*.
HY_CODEC_API void hy_image_free(uint8_t* buffer) { std::free(buffer); }

// Encodes HWC uint8 pixels as PNG. channels: 1 (gray, or indices when palette_size > 0),
// 3 (RGB) or 4 (RGBA). palette: palette_size RGB triples (1..256) or null. The encoded bytes
// are returned through out / out_size (free with hy_image_free). Returns 0, or -1 on error.
HY_CODEC_API int hy_image_encode_png(const uint8_t* pixels, int32_t width, int32_t height, int32_t channels,
                               const uint8_t* palette, int32_t palette_size, uint8_t** out,
                               int64_t* out_size) {
  HY_TRY(-1, {
    *out = nullptr;
    *out_size = 0;
    if (width <= 0 || height <= 0) {
      hy::set_error("PNG encode: width and height must be positive");
      return -1;
    }
    if (palette_size > 0 ? (channels != 1 || palette_size > 256)
                         : (channels != 1 && channels != 3 && channels != 4)) {
      hy::set_error("PNG encode: channels must be 1, 3 or 4, and palette images need 1 channel and <= 256 colours");
      return -1;
    }
    PngWriteContext ctx{nullptr, 0, 0, false, {0}};
    if (!encode_png(&ctx, pixels, width, height, channels, palette, palette_size)) {
      std::free(ctx.data);
      hy::set_error(std::string("PNG encode: ") + ctx.message);
      return -1;
    }
    *out = ctx.data;
    *out_size = int64_t(ctx.size);
    return 0;
  })
}

// Encodes HWC uint8 pixels (1 or 3 channels) as baseline JPEG at quality 1..100.
HY_CODEC_API int hy_image_encode_jpeg(const uint8_t* pixels, int32_t width, int32_t height, int32_t channels,
                                int32_t quality, uint8_t** out, int64_t* out_size) {
  HY_TRY(-1, {
    *out = nullptr;
    *out_size = 0;
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3) || quality < 1 || quality > 100) {
      hy::set_error("JPEG encode: need width, height > 0, channels 1 or 3, quality in 1..100");
      return -1;
    }
    char message[kMessageSize] = {0};
    uint8_t* buffer = nullptr;
    unsigned long size = 0;
    if (!encode_jpeg(pixels, width, height, channels, quality, &buffer, &size, message)) {
      hy::set_error(std::string("JPEG encode: ") + message);
      return -1;
    }
    *out = buffer;
    *out_size = int64_t(size);
    return 0;
  })
}
