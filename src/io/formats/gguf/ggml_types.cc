// The ggml tensor type table: elements per block and bytes per block.
//
// From ggml's `type_traits` (ggml/src/ggml.c: .blck_size / .type_size =
// sizeof(block_*)), checked against gguf-py's GGML_QUANT_SIZES
// (gguf-py/gguf/constants.py), which spells the sizes out, and against the
// ggml_type enum in docs/gguf.md (ids 0..39, 4/5 and 31..33/36..38 removed,
// GGML_TYPE_COUNT = 40). QK_K = 256.
#include <array>

#include "gguf/gguf_parser.h"

namespace halio {
namespace {

constexpr uint32_t kQkK = 256;

constexpr std::array<GgmlTypeInfo, 40> kGgmlTypes = {{
    /* 0 */ {"F32", 1, 4},
    /* 1 */ {"F16", 1, 2},
    /* 2 */ {"Q4_0", 32, 2 + 16},
    /* 3 */ {"Q4_1", 32, 2 + 2 + 16},
    /* 4 */ {"Q4_2 (removed)", 0, 0},
    /* 5 */ {"Q4_3 (removed)", 0, 0},
    /* 6 */ {"Q5_0", 32, 2 + 4 + 16},
    /* 7 */ {"Q5_1", 32, 2 + 2 + 4 + 16},
    /* 8 */ {"Q8_0", 32, 2 + 32},
    /* 9 */ {"Q8_1", 32, 4 + 4 + 32},
    /* 10 */ {"Q2_K", kQkK, 2 + 2 + kQkK / 16 + kQkK / 4},
    /* 11 */ {"Q3_K", kQkK, 2 + kQkK / 4 + kQkK / 8 + 12},
    /* 12 */ {"Q4_K", kQkK, 2 + 2 + kQkK / 2 + 12},
    /* 13 */ {"Q5_K", kQkK, 2 + 2 + kQkK / 2 + kQkK / 8 + 12},
    /* 14 */ {"Q6_K", kQkK, 2 + kQkK / 2 + kQkK / 4 + kQkK / 16},
    /* 15 */ {"Q8_K", kQkK, 4 + kQkK + kQkK / 8},
    /* 16 */ {"IQ2_XXS", kQkK, 2 + kQkK / 4},
    /* 17 */ {"IQ2_XS", kQkK, 2 + kQkK / 4 + kQkK / 32},
    /* 18 */ {"IQ3_XXS", kQkK, 2 + kQkK / 4 + kQkK / 8},
    /* 19 */ {"IQ1_S", kQkK, 2 + kQkK / 8 + kQkK / 16},
    /* 20 */ {"IQ4_NL", 32, 2 + 16},
    /* 21 */ {"IQ3_S", kQkK, 2 + kQkK / 4 + kQkK / 8 + kQkK / 32 + 4},
    /* 22 */ {"IQ2_S", kQkK, 2 + kQkK / 4 + kQkK / 16},
    /* 23 */ {"IQ4_XS", kQkK, 2 + 2 + kQkK / 2 + kQkK / 64},
    /* 24 */ {"I8", 1, 1},
    /* 25 */ {"I16", 1, 2},
    /* 26 */ {"I32", 1, 4},
    /* 27 */ {"I64", 1, 8},
    /* 28 */ {"F64", 1, 8},
    /* 29 */ {"IQ1_M", kQkK, kQkK / 8 + kQkK / 16 + kQkK / 32},
    /* 30 */ {"BF16", 1, 2},
    /* 31 */ {"Q4_0_4_4 (removed)", 0, 0},
    /* 32 */ {"Q4_0_4_8 (removed)", 0, 0},
    /* 33 */ {"Q4_0_8_8 (removed)", 0, 0},
    /* 34 */ {"TQ1_0", kQkK, 2 + 4 * 13},
    /* 35 */ {"TQ2_0", kQkK, 2 + 64},
    /* 36 */ {"IQ4_NL_4_4 (removed)", 0, 0},
    /* 37 */ {"IQ4_NL_4_8 (removed)", 0, 0},
    /* 38 */ {"IQ4_NL_8_8 (removed)", 0, 0},
    /* 39 */ {"MXFP4", 32, 1 + 16},  // one E8M0 scale + 32 packed FP4 values
}};

}  // namespace

const GgmlTypeInfo* FindGgmlType(uint32_t type) {
  return type < kGgmlTypes.size() ? &kGgmlTypes[type] : nullptr;
}

}  // namespace halio
