#include "digitnet/data/checkpoint.hpp"

#include <cmath>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/core/json.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/npz.hpp"

namespace digitnet {
namespace {

std::size_t size_of(int n) { return static_cast<std::size_t>(n); }

NpyArray u64_array(std::span<const std::size_t> values) {
  NpyArray a{"<u8", {values.size()}, std::vector<std::uint8_t>(values.size() * 8)};
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto v = static_cast<std::uint64_t>(values[i]);
    std::memcpy(a.data.data() + 8 * i, &v, 8);
  }
  return a;
}

// The arrays of a layer beside W and b, when its product is normalized (nn/batch_norm.hpp).
constexpr const char* kNormArrays[] = {"gamma", "beta", "mean", "var"};

Matrix<float> norm_array(const Dense<float>& layer, int k) {
  switch (k) {
    case 0: return layer.gamma;
    case 1: return layer.beta;
    case 2: return layer.running_mean;
    default: return layer.running_var;
  }
}

void put_layers(NpzArchive& npz, const std::string& prefix, const DenseLayers<float>& layers) {
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto& layer = layers[l];
    npz[fmt::format("{}w{}", prefix, l + 1)] =
        NpyArray::from_floats(layer.W(), {size_of(layer.out()), size_of(layer.in())});
    const std::span<const float> b = layer.b.values();
    npz[fmt::format("{}b{}", prefix, l + 1)] = NpyArray::from_floats({b.begin(), b.end()}, {size_of(layer.out())});
    if (layer.normalized())
      for (int k = 0; k < 4; ++k)
        npz[fmt::format("{}{}{}", prefix, kNormArrays[k], l + 1)] =
            NpyArray::from_floats(norm_array(layer, k).values(), {size_of(layer.out())});
  }
}

// Reading: every value checked, every error naming the file.
class Reader {
 public:
  Reader(const NpzArchive& npz, std::string what) : npz_(npz), what_(std::move(what)) {}

  [[noreturn]] void fail(const std::string& why) const { throw Error(fmt::format("{}: {}", what_, why)); }

  const NpyArray& array(const std::string& key) const {
    const auto it = npz_.find(key);
    if (it == npz_.end()) fail(fmt::format("missing array '{}'", key));
    return it->second;
  }

  std::vector<float> floats(const std::string& key, const std::vector<std::size_t>& shape) const {
    const NpyArray& a = array(key);
    if (a.descr != "<f4" || a.shape != shape) fail(fmt::format("array '{}' has the wrong type or shape", key));
    std::vector<float> v(a.count());
    if (!v.empty()) std::memcpy(v.data(), a.data.data(), v.size() * sizeof(float));  // empty: data() may be null
    for (float x : v)
      if (!std::isfinite(x)) fail(fmt::format("array '{}' holds nan or inf", key));
    return v;
  }

  DenseLayers<float> layers(const std::string& prefix, const std::vector<int>& sizes, bool batch_norm) const {
    // Every array's shape first: the sizes alone could ask for any amount of memory.
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
      const std::string w = fmt::format("{}w{}", prefix, l + 1), b = fmt::format("{}b{}", prefix, l + 1);
      if (array(w).shape != std::vector<std::size_t>{size_of(sizes[l + 1]), size_of(sizes[l])} ||
          array(b).shape != std::vector<std::size_t>{size_of(sizes[l + 1])})
        fail(fmt::format("array '{}' or '{}' does not have the shape of the checkpoint's layers", w, b));
    }
    DenseLayers<float> out(sizes, batch_norm);
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
      out[l].set_W(floats(fmt::format("{}w{}", prefix, l + 1), {size_of(sizes[l + 1]), size_of(sizes[l])}));
      out[l].set_b(floats(fmt::format("{}b{}", prefix, l + 1), {size_of(sizes[l + 1])}));
      if (out[l].normalized())
        for (int k = 0; k < 4; ++k) {
          const auto v = floats(fmt::format("{}{}{}", prefix, kNormArrays[k], l + 1), {size_of(sizes[l + 1])});
          std::copy(v.begin(), v.end(), norm_array(out[l], k).values().begin());
        }
    }
    return out;
  }

  template <class T>
  T number(const nlohmann::json& j, const char* key, T lo, T hi) const {
    if (!j.contains(key) || !j[key].is_number()) fail(fmt::format("checkpoint field '{}' is missing", key));
    const T v = j[key].get<T>();
    if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(v)) fail(fmt::format("checkpoint field '{}' is not finite", key));
    }
    if (!(v >= lo && v <= hi)) fail(fmt::format("checkpoint field '{}' is out of range", key));
    return v;
  }

  Rng::State rng(const nlohmann::json& j, const char* key) const {
    if (!j.contains(key) || !j[key].is_array() || j[key].size() != 4)
      fail(fmt::format("checkpoint field '{}' is not a generator state", key));
    Rng::State s{};
    for (std::size_t i = 0; i < 4; ++i) {
      if (!j[key][i].is_number_unsigned()) fail(fmt::format("checkpoint field '{}' is not a generator state", key));
      s[i] = j[key][i].get<std::uint64_t>();
    }
    if (s == Rng::State{}) fail(fmt::format("checkpoint field '{}' is an all-zero generator state", key));
    return s;
  }

  std::optional<double> maybe(const nlohmann::json& r, const char* key) const {
    if (!r.contains(key) || r[key].is_null()) return std::nullopt;
    return number<double>(r, key, 0, 1);
  }

  EpochReport report(const nlohmann::json& r) const {
    if (!r.is_object()) fail("checkpoint history holds a non-object");
    EpochReport e;
    e.epoch = number<int>(r, "epoch", 1, 1'000'000);
    e.loss = number<double>(r, "loss", 0, 1e300);
    e.train_accuracy = number<double>(r, "train_accuracy", 0, 1);
    e.val_accuracy = maybe(r, "val_accuracy");
    e.test_accuracy = maybe(r, "test_accuracy");
    e.lr = number<double>(r, "lr", 0, 1e300);
    e.seconds = number<double>(r, "seconds", 0, 1e300);
    return e;
  }

 private:
  const NpzArchive& npz_;
  std::string what_;
};

}  // namespace

void save_checkpoint(const std::string& path, const nlohmann::json& run, const Network<float>& net,
                     const TrainerState& s, const OptimizerState<float>& optimizer) {
  NpzArchive npz;
  put_layers(npz, "", net.layers);
  if (!s.best_parameters.empty()) {
    DenseLayers<float> best(net.arch().sizes, net.arch().batch_norm);
    std::copy(s.best_parameters.begin(), s.best_parameters.end(), best.values().begin());
    put_layers(npz, "best_", best);
  }
  if (!s.ema.empty()) npz["ema"] = NpyArray::from_floats(s.ema, {s.ema.size()});
  npz["opt_m"] = NpyArray::from_floats({optimizer.m.begin(), optimizer.m.end()}, {optimizer.m.size()});
  npz["opt_v"] = NpyArray::from_floats({optimizer.v.begin(), optimizer.v.end()}, {optimizer.v.size()});
  if (s.batch > 0) npz["order"] = u64_array(s.order);
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : s.history) history.push_back(report_json(r));
  const nlohmann::json state = {{"epoch", s.epoch},
                                {"batch", s.batch},
                                {"loss_sum", s.loss_sum},
                                {"correct", s.correct},
                                {"seconds", s.seconds},
                                {"stopped", s.stopped},
                                {"averaged", s.averaged},
                                {"history", history},
                                {"best_epoch", s.best_epoch},
                                {"best_val", s.best_val},
                                {"has_best", !s.best_parameters.empty()},
                                {"first_loss", s.first_loss},
                                {"shuffle_rng", s.shuffle_rng},
                                {"optimizer_steps", optimizer.t}};
  const nlohmann::json doc = {{"format", "digitnet-checkpoint"},
                              {"format_version", kCheckpointFormatVersion},
                              {"layers", net.arch().sizes},
                              {"batch_norm", net.arch().batch_norm},
                              {"run", run},
                              {"state", state}};
  npz["checkpoint"] = NpyArray::from_string(doc.dump());
  write_file_atomic(path, serialize_npz(npz));
}

Checkpoint parse_checkpoint(std::span<const std::uint8_t> bytes, const std::string& what) {
  // The JSON document first, alone: it says the network's sizes, and every array is checked
  // against them (and the order against its epoch's examples) before its data is inflated.
  bool model_file = false;
  const NpzArchive head = parse_npz(bytes, what, [&](const std::string& name, const NpyHeader& h) {
    model_file = model_file || name == "config";
    if (name != "checkpoint") return false;
    if (!h.shape.empty() || h.is_numeric() || h.data_bytes > (std::size_t(64) << 20))
      throw Error(fmt::format("{}: 'checkpoint' is not a text of at most 64 MB", what));
    return true;
  });
  const Reader first(head, what);
  if (!head.count("checkpoint"))
    first.fail(model_file ? "is a model file, not a checkpoint" : "not a digitnet checkpoint (no 'checkpoint' entry)");
  nlohmann::json doc;
  try {
    doc = parse_json(head.at("checkpoint").to_string(), "'checkpoint'");
  } catch (const Error& e) {
    first.fail(e.what());
  }
  if (!doc.is_object() || doc.value("format", "") != "digitnet-checkpoint") first.fail("not a digitnet checkpoint");
  const int version = first.number<int>(doc, "format_version", 1, 1'000'000);
  if (version > kCheckpointFormatVersion)
    first.fail(fmt::format("written by a newer digitnet (checkpoint format {}); this build reads format {}", version,
                           kCheckpointFormatVersion));
  if (version < kCheckpointFormatVersion)
    first.fail(
        fmt::format("written by an older digitnet (checkpoint format {}); this build resumes format {} only: "
                    "resume it with the digitnet that wrote it, or train again",
                    version, kCheckpointFormatVersion));
  Checkpoint c;
  if (!doc.contains("layers") || !doc["layers"].is_array() || doc["layers"].size() < 2 || doc["layers"].size() > 64)
    first.fail("checkpoint field 'layers' is not a list of sizes");
  for (const auto& v : doc["layers"]) {
    if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 1'000'000)
      first.fail("checkpoint field 'layers' holds an invalid size");
    c.layers.push_back(v.get<int>());
  }
  if (doc.contains("batch_norm") && !doc["batch_norm"].is_boolean())
    first.fail("checkpoint field 'batch_norm' is not true or false");
  c.batch_norm = doc.value("batch_norm", false);
  // The arrays the sizes imply, each with its shape; anything else is left out unread.
  std::map<std::string, std::vector<std::size_t>> expected;
  std::size_t params = 0;
  for (std::size_t l = 0; l + 1 < c.layers.size(); ++l) {
    const std::size_t in_n = size_of(c.layers[l]), out_n = size_of(c.layers[l + 1]);
    const bool normalized = c.batch_norm && l + 2 < c.layers.size();
    for (const char* prefix : {"", "best_"}) {
      expected[fmt::format("{}w{}", prefix, l + 1)] = {out_n, in_n};
      expected[fmt::format("{}b{}", prefix, l + 1)] = {out_n};
      if (normalized)
        for (const char* name : kNormArrays) expected[fmt::format("{}{}{}", prefix, name, l + 1)] = {out_n};
    }
    params += in_n * out_n + out_n + (normalized ? 4 * out_n : 0);
  }
  const NpzArchive npz = parse_npz(bytes, what, [&](const std::string& name, const NpyHeader& h) {
    if (name == "opt_m" || name == "opt_v" || name == "order" || name == "ema") {
      // the optimizer's buffers are the parameter buffer's size (padded, so a bound) or empty;
      // the order holds at most one index per example of a dataset digitnet reads
      const std::size_t most = name == "order" ? (std::size_t(1) << 32) : 2 * params + 1024;
      if (h.shape.size() != 1 || h.shape[0] > most)
        throw Error(fmt::format("{}: array '{}' has a shape no checkpoint of this network holds", what, name));
      return true;
    }
    const auto it = expected.find(name);
    if (it == expected.end()) return false;
    if (h.shape != it->second)
      throw Error(fmt::format("{}: array '{}' does not have the shape of the checkpoint's layers", what, name));
    return true;
  });
  const Reader in(npz, what);
  if (!doc.contains("run") || !doc["run"].is_object()) in.fail("checkpoint field 'run' is missing");
  c.run = doc["run"];
  c.params = in.layers("", c.layers, c.batch_norm);

  if (!doc.contains("state") || !doc["state"].is_object()) in.fail("checkpoint field 'state' is missing");
  const nlohmann::json& j = doc["state"];
  TrainerState& s = c.state;
  s.epoch = in.number<int>(j, "epoch", 0, 1'000'000);
  s.batch = in.number<std::size_t>(j, "batch", 0, std::size_t(1) << 40);
  s.loss_sum = in.number<double>(j, "loss_sum", 0, 1e300);
  s.correct = in.number<std::size_t>(j, "correct", 0, std::size_t(1) << 40);
  s.seconds = in.number<double>(j, "seconds", 0, 1e300);
  if (!j.contains("stopped") || !j["stopped"].is_boolean()) in.fail("checkpoint field 'stopped' is missing");
  s.stopped = j["stopped"].get<bool>();
  if (!j.contains("history") || !j["history"].is_array()) in.fail("checkpoint field 'history' is missing");
  for (const auto& r : j["history"]) s.history.push_back(in.report(r));
  s.best_epoch = in.number<int>(j, "best_epoch", 0, s.epoch);
  s.best_val = in.number<double>(j, "best_val", -1, 1);
  if (j.value("has_best", false)) {
    const DenseLayers<float> best = in.layers("best_", c.layers, c.batch_norm);
    s.best_parameters.assign(best.values().begin(), best.values().end());
  }
  s.first_loss = in.number<double>(j, "first_loss", 0, 1e300);
  s.shuffle_rng = in.rng(j, "shuffle_rng");
  s.optimizer.t = in.number<long>(j, "optimizer_steps", 0, long(1) << 50);
  // each buffer empty (the rule keeps none) or the size of the parameter buffer
  const std::size_t n = c.params.parameters().size();
  const auto buffer = [&](const char* key) {
    return in.floats(key, {in.array(key).shape == std::vector<std::size_t>{0} ? 0 : n});
  };
  const auto moment1 = buffer("opt_m"), moment2 = buffer("opt_v");
  if (npz.count("ema")) s.ema = in.floats("ema", {n});
  if (j.contains("averaged")) {
    if (!j["averaged"].is_boolean() || (j["averaged"].get<bool>() && s.ema.empty()))
      in.fail("checkpoint field 'averaged' is not true or false, or there is no average");
    s.averaged = j["averaged"].get<bool>();
  }
  s.optimizer.m.assign(moment1.begin(), moment1.end());
  s.optimizer.v.assign(moment2.begin(), moment2.end());
  if (s.batch > 0) {
    const NpyArray& order = in.array("order");
    if (order.descr != "<u8" || order.shape.size() != 1) in.fail("array 'order' has the wrong type or shape");
    s.order.resize(order.count());
    for (std::size_t i = 0; i < s.order.size(); ++i) {
      std::uint64_t v = 0;
      std::memcpy(&v, order.data.data() + 8 * i, 8);
      if (v >= s.order.size()) in.fail("array 'order' holds an index out of range");
      s.order[i] = static_cast<std::size_t>(v);
    }
  }
  return c;
}

Checkpoint read_checkpoint(const std::string& path) { return parse_checkpoint(read_file(path), path); }

}  // namespace digitnet
