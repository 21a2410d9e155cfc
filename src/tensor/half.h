// Internal: inline bit-exact float16 / bfloat16 <-> float32 conversions, so
// that block kernels can decode their f16 scales without a function call.
// The public wrappers (fp16_to_f32, ...) in quantize.h call these.
//
// float16 (IEEE binary16): 1 sign, 5 exponent (bias 15), 10 mantissa bits.
// bfloat16: the upper 16 bits of a float32 (1 sign, 8 exponent, 7 mantissa).
// Narrowing rounds to nearest, ties to even; overflow gives inf; NaN stays NaN
// (made quiet, sign and top payload bits kept). Results equal the x86 F16C
// instructions bit for bit (tested).
// Thread-safety: pure functions.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace officina::half {

inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  const uint32_t mantissa = h & 0x3FFu;
  uint32_t bits;
  if (exponent == 0x1F) {
    // inf, or NaN with its payload kept and made quiet (as F16C does)
    bits = sign | 0x7F800000u | (mantissa << 13) | (mantissa != 0 ? 0x400000u : 0u);
  } else if (exponent != 0) {
    bits = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
  } else {
    // Zero or subnormal: mantissa * 2^-24 is exact in float32.
    bits = sign | std::bit_cast<uint32_t>(static_cast<float>(mantissa) * 0x1p-24f);
  }
  return std::bit_cast<float>(bits);
}

inline uint16_t float_to_half(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u)  // NaN: quiet bit set so a payload cut to 10 bits stays NaN
    return static_cast<uint16_t>(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
  // 65520 is halfway between 65504 (the largest half, odd mantissa) and 65536,
  // so it and everything above round to inf.
  if (ax >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);
  if (ax >= 0x38800000u) {  // normal half range (>= 2^-14)
    // Round at bit 13, ties to even; a carry into the exponent is correct.
    const uint32_t rounded = ax + 0xFFFu + ((ax >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((rounded - ((127u - 15u) << 23)) >> 13));
  }
  // Subnormal half (or zero): the value in units of 2^-24 is m >> shift.
  const uint32_t exponent = ax >> 23;
  const uint32_t shift = 126u - exponent;  // >= 14 here
  if (shift > 24) return static_cast<uint16_t>(sign);  // below half of 2^-24
  const uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
  uint32_t q = m >> shift;
  const uint32_t rest = m & ((1u << shift) - 1u);
  const uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (q & 1u))) ++q;  // may reach 0x400: smallest normal
  return static_cast<uint16_t>(sign | q);
}

inline float bf16_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

inline uint16_t float_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);  // quiet NaN
  // Ties to even at bit 16; inf stays inf and the largest floats round to inf.
  return static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

// Reads a little-endian f16 stored at an arbitrary (unaligned) address.
inline float load_half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return half_to_float(h);
}

inline void store_half(uint8_t* p, float f) {
  const uint16_t h = float_to_half(f);
  std::memcpy(p, &h, sizeof h);
}

}  // namespace officina::half
