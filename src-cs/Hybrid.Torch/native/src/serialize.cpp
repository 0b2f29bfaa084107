// PyTorch pickle files (torch.save state dicts, zip or legacy format) through libtorch's
// own unpickler: the dictionary is walked and every tensor handed to the caller with its
// dotted key (nested dicts such as {"model": {...}} flatten to "model.layer.weight").
#include "tensor_api.h"
#include <torch/csrc/jit/serialization/pickle.h>
#include <fstream>
#include <iterator>

using namespace hy;

typedef void (*hy_named_tensor_cb)(const char* name, TH tensor, void* ctx);

namespace {
void walk(const c10::IValue& v, const std::string& prefix, hy_named_tensor_cb cb, void* ctx) {
  if (v.isTensor()) {
    cb(prefix.c_str(), wrap(v.toTensor()), ctx);
  } else if (v.isGenericDict()) {
    for (const auto& kv : v.toGenericDict()) {
      std::string key = kv.key().isString() ? kv.key().toStringRef()
                        : kv.key().isInt()  ? std::to_string(kv.key().toInt())
                                            : std::string("?");
      walk(kv.value(), prefix.empty() ? key : prefix + "." + key, cb, ctx);
    }
  } else if (v.isList() || v.isTuple()) {
    auto elems = v.isList() ? v.toListRef().vec() : v.toTupleRef().elements().vec();
    for (size_t i = 0; i < elems.size(); ++i)
      walk(elems[i], prefix.empty() ? std::to_string(i) : prefix + "." + std::to_string(i), cb, ctx);
  }
  // Scalars, strings and None (e.g. an "epoch" entry) carry no tensors: skipped.
}
}  // namespace

HY_API int hy_pickle_load(const char* path, hy_named_tensor_cb cb, void* ctx) {
  HY_TRY(-1, {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(std::string("cannot open ") + path);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.empty()) throw std::runtime_error(std::string(path) + " is empty");
    c10::IValue v = torch::jit::pickle_load(bytes);
    walk(v, "", cb, ctx);
    return 0;
  })
}

// Writes {name: tensor} in torch.save's zip format, loadable by torch.load.
HY_API int hy_pickle_save(const char* path, const char** names, TH* ts, int n) {
  HY_TRY(-1, {
    c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
    for (int i = 0; i < n; ++i) dict.insert(std::string(names[i]), ts[i]->detach().to(at::kCPU));
    std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
    std::string tmp = std::string(path) + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw std::runtime_error("cannot write " + tmp);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      out.flush();
      if (!out) throw std::runtime_error("write failed: " + tmp);
    }
    if (std::rename(tmp.c_str(), path) != 0) throw std::runtime_error(std::string("cannot rename to ") + path);
    return 0;
  })
}
