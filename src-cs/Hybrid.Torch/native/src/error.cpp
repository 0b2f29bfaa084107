// Thread-local last error, read by managed code after a failed call.
#include "hybrid.h"
#include <c10/util/Exception.h>

namespace {
thread_local std::string g_error;
thread_local bool g_has_error = false;
}  // namespace

namespace hy {
void set_error(const std::string& message) {
  g_error = message;
  g_has_error = true;
}

void set_error_from_current_exception() {
  try {
    throw;
  } catch (const c10::Error& e) {
    set_error(e.what_without_backtrace());
  } catch (const std::exception& e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown native exception");
  }
}
}  // namespace hy

// Returns the last error message of this thread and clears it; nullptr when there is none.
// The pointer stays valid until the next failing call on this thread.
HY_API const char* hy_last_error() {
  if (!g_has_error) return nullptr;
  g_has_error = false;
  return g_error.c_str();
}
