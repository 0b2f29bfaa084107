// Shared conventions of the C ABI.
// - Every exported entry is `HY_API` and never lets a C++ exception cross the boundary:
//   it runs its body inside HY_TRY, which stores the message in a thread-local error slot.
// - Entries returning a handle return nullptr on error; entries returning int return 0 on
//   success and -1 on error. Managed code then reads hy_last_error() and throws.
#pragma once
#include <cstdint>
#include <string>
#include <exception>

#define HY_API extern "C" __attribute__((visibility("default")))

namespace hy {
void set_error(const std::string& message);
void set_error_from_current_exception();
}  // namespace hy

// Body runner: `HY_TRY(nullptr, { ...; return x; })`.
#define HY_TRY(on_error, ...)                  \
  try {                                        \
    __VA_ARGS__                                \
  } catch (...) {                              \
    hy::set_error_from_current_exception();    \
    return on_error;                           \
  }
