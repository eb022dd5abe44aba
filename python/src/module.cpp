// _digitnet: the compiled half of the Python package (python/digitnet wraps it). A Learner
// per estimator; model files, ONNX export, presets and datasets by name, as the CLI has them.
#include <cstdio>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "learner.hpp"
#include "presets.hpp"

namespace py = pybind11;
using namespace digitnet;
using digitnet::python::Learner;

namespace {

py::dict report_dict(const EpochReport& r) {
  py::dict d;
  d["epoch"] = r.epoch;
  d["loss"] = r.loss;
  d["train_accuracy"] = r.train_accuracy;
  if (r.val_accuracy) d["val_accuracy"] = *r.val_accuracy;
  if (r.test_accuracy) d["test_accuracy"] = *r.test_accuracy;
  d["lr"] = r.lr;
  d["seconds"] = r.seconds;
  return d;
}

EpochReport report_of(const py::dict& d) {
  EpochReport r;
  const auto number = [&](const char* key) -> std::optional<double> {
    if (!d.contains(key) || d[key].is_none()) return std::nullopt;
    return d[key].cast<double>();
  };
  r.epoch = d.contains("epoch") ? d["epoch"].cast<int>() : 0;
  r.loss = number("loss").value_or(0);
  r.train_accuracy = number("train_accuracy").value_or(0);
  r.val_accuracy = number("val_accuracy");
  r.test_accuracy = number("test_accuracy");
  r.lr = number("lr").value_or(0);
  r.seconds = number("seconds").value_or(0);
  return r;
}

py::dict settings_dict(const TrainSettings& s) {
  py::dict d;
  d["layers"] = s.layers;
  d["activation"] = s.activation;
  d["loss"] = s.loss;
  d["init"] = s.init;
  d["normalize"] = s.normalize;
  d["batch"] = s.batch;
  d["epochs"] = s.epochs;
  d["lr"] = s.lr;
  d["seed"] = s.seed;
  d["optimizer"] = s.optimizer;
  d["momentum"] = s.momentum;
  d["beta1"] = s.beta1;
  d["beta2"] = s.beta2;
  d["eps"] = s.eps;
  d["weight_decay"] = s.weight_decay;
  d["dropout"] = s.dropout;
  d["label_smoothing"] = s.label_smoothing;
  d["l2"] = s.l2;
  d["clip_norm"] = s.clip_norm;
  d["schedule"] = s.schedule;
  d["warmup"] = s.warmup;
  d["augment"] = s.augment;
  // What a preset says about the data, which an estimator gets from its caller instead.
  d["split"] = s.split;
  d["val"] = s.val;
  d["early_stop"] = s.early_stop;
  return d;
}

// A byte vector handed to NumPy without a copy: the array owns it through a capsule.
template <class T>
py::array_t<T> adopt(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
  auto* owned = new std::vector<T>(std::move(v));
  py::capsule free_it(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owned->data(), free_it);
}

py::dict dataset_arrays(Dataset&& d) {
  const auto n = static_cast<py::ssize_t>(d.size()), F = static_cast<py::ssize_t>(d.features());
  py::dict out;
  if (d.pixel_max == 255) {
    out["X"] = adopt(std::move(d.pixels), {n, F});
  } else {  // the 8x8 digits (0..16): float32 values as scikit-learn's load_digits has them
    std::vector<float> values(d.pixels.begin(), d.pixels.end());
    out["X"] = adopt(std::move(values), {n, F});
  }
  std::vector<std::int64_t> labels(d.labels.begin(), d.labels.end());
  out["y"] = adopt(std::move(labels), {n});
  return out;
}

py::dict load_dataset(const std::string& spec, const std::string& split, std::uint64_t seed) {
  DataSplit data;
  std::string name;
  {
    py::gil_scoped_release release;
    FetchOptions options;
    options.log = [](const std::string& message) { std::fprintf(stderr, "digitnet: %s\n", message.c_str()); };
    const std::string path = resolve_data(spec, options);
    data = load_data(path, parse_split(split), seed);
    name = dataset_name(path);
  }
  py::dict out;
  out["name"] = name;
  out["split"] = data.split;
  out["image_shape"] = py::make_tuple(data.train.height, data.train.width);
  out["pixel_max"] = data.train.pixel_max;
  out["train"] = dataset_arrays(std::move(data.train));
  out["test"] = dataset_arrays(std::move(data.test));
  return out;
}

std::vector<float> floats_of(const py::array& a, std::size_t n, const char* what) {
  const auto f = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!f || static_cast<std::size_t>(f.size()) != n)
    throw py::value_error(fmt::format("{}: expected {} numbers", what, n));
  return {f.data(), f.data() + n};
}

}  // namespace

PYBIND11_MODULE(_digitnet, m) {
  m.doc() = "digitnet's compiled core; use the digitnet package (digitnet.MLPClassifier, digitnet.load)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const digitnet::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<Learner>(m, "Learner")
      .def(py::init<std::vector<int>, const std::string&, const std::string&, int, int>(), py::arg("layers"),
           py::arg("activation"), py::arg("loss"), py::arg("height"), py::arg("width"))
      .def("init", &Learner::init, py::arg("init"), py::arg("seed"))
      .def("fit_normalizer", &Learner::fit_normalizer, py::arg("kind"), py::arg("X"))
      .def(
          "set_normalizer",
          [](Learner& l, const std::string& kind, float pixel_max, const py::object& mean, const py::object& std) {
            Normalizer n;
            n.kind = Normalizer::parse_kind(kind);
            n.pixel_max = pixel_max;
            if (n.kind == Normalizer::zscore) {
              const auto F = static_cast<std::size_t>(l.arch().inputs());
              n.mean = floats_of(mean, F, "input_mean");
              n.std = floats_of(std, F, "input_std");
            }
            l.set_normalizer(n);
          },
          py::arg("kind"), py::arg("pixel_max"), py::arg("mean") = py::none(), py::arg("std") = py::none())
      .def(
          "start",
          [](Learner& l, int epochs, int batch, double lr, std::uint64_t seed, const std::string& optimizer,
             double momentum, double weight_decay, const std::string& schedule, double warmup, double l2,
             double clip_norm, double label_smoothing, const std::string& augment, std::vector<double> dropout) {
            l.start({.epochs = epochs,
                     .batch = batch,
                     .lr = lr,
                     .seed = seed,
                     .optimizer = optimizer,
                     .momentum = momentum,
                     .weight_decay = weight_decay,
                     .schedule = schedule,
                     .warmup = warmup,
                     .l2 = l2,
                     .clip_norm = clip_norm,
                     .label_smoothing = label_smoothing,
                     .augment = augment,
                     .dropout = std::move(dropout)});
          },
          py::kw_only(), py::arg("epochs"), py::arg("batch"), py::arg("lr"), py::arg("seed"), py::arg("optimizer"),
          py::arg("momentum"), py::arg("weight_decay"), py::arg("schedule"), py::arg("warmup"), py::arg("l2"),
          py::arg("clip_norm"), py::arg("label_smoothing"), py::arg("augment"), py::arg("dropout"))
      .def_property_readonly("started", &Learner::started)
      .def_property("threads", &Learner::threads, &Learner::set_threads,
                    "Cores for training and prediction (0: one per core); results do not depend on it")
      .def(
          "train_epoch",
          [](Learner& l, const py::array& X, const py::array& y, bool check_signals) {
            return report_dict(l.train_epoch(X, y, check_signals));
          },
          py::arg("X"), py::arg("y"), py::arg("check_signals") = true)
      .def_property(
          "history",
          [](Learner& l) {
            py::list out;
            for (const EpochReport& r : l.history()) out.append(report_dict(r));
            return out;
          },
          [](Learner& l, const py::list& h) {
            std::vector<EpochReport> reports;
            for (const auto& item : h) reports.push_back(report_of(item.cast<py::dict>()));
            l.set_history(std::move(reports));
          },
          "One dict per epoch trained: epoch, loss, train_accuracy, lr, seconds (and val/test accuracy from the CLI)")
      .def("predict_proba", &Learner::predict_proba, py::arg("X"))
      .def("weights",
           [](Learner& l) {
             py::list out;
             const auto& sizes = l.arch().sizes;
             auto w = l.weights();
             for (std::size_t i = 0; i < w.size(); ++i) {
               const auto out_n = static_cast<py::ssize_t>(sizes[i + 1]), in_n = static_cast<py::ssize_t>(sizes[i]);
               out.append(py::make_tuple(python::to_numpy(w[i].W.data(), out_n, in_n),
                                         python::to_numpy(w[i].b.data(), 1, out_n).attr("reshape")(out_n)));
             }
             return out;
           })
      .def(
          "set_weights",
          [](Learner& l, const py::list& layers) {
            std::vector<python::LayerWeights> w;
            const auto& sizes = l.arch().sizes;
            if (py::len(layers) != sizes.size() - 1)
              throw py::value_error(
                  fmt::format("weights: {} layers given for a network of {}", py::len(layers), sizes.size() - 1));
            for (std::size_t i = 0; i < py::len(layers); ++i) {
              const auto pair = layers[i].cast<py::tuple>();
              const auto out_n = static_cast<std::size_t>(sizes[i + 1]), in_n = static_cast<std::size_t>(sizes[i]);
              w.push_back({floats_of(pair[0], out_n * in_n, "weights W"), floats_of(pair[1], out_n, "weights b")});
            }
            l.set_weights(w);
          },
          py::arg("layers"))
      .def(
          "save",
          [](Learner& l, const std::string& path, const std::string& extra_json) {
            nlohmann::json extra;
            try {
              extra = nlohmann::json::parse(extra_json);
            } catch (const nlohmann::json::exception& e) {
              throw py::value_error(fmt::format("save: the config is not valid JSON ({})", e.what()));
            }
            l.save(path, extra);
          },
          py::arg("path"), py::arg("config_json") = "{}")
      .def(
          "to_onnx",
          [](Learner& l, const std::string& path, const std::string& doc,
             const std::map<std::string, std::string>& meta) {
            OnnxInfo info{doc, {meta.begin(), meta.end()}};
            l.save_onnx(path, info);
          },
          py::arg("path"), py::arg("doc") = "", py::arg("metadata") = std::map<std::string, std::string>{})
      .def_property_readonly("layers", [](const Learner& l) { return l.arch().sizes; })
      .def_property_readonly("activation", [](const Learner& l) { return to_string(l.arch().hidden); })
      .def_property_readonly("loss", [](const Learner& l) { return to_string(l.arch().loss); })
      .def_property_readonly("image_shape", [](const Learner& l) { return py::make_tuple(l.height(), l.width()); })
      .def_property_readonly("normalizer", [](Learner& l) {
        const Normalizer n = l.normalizer();
        py::dict d;
        d["kind"] = n.kind_name();
        d["pixel_max"] = n.pixel_max;
        d["mean"] = n.kind == Normalizer::zscore
                        ? py::object(python::to_numpy(n.mean.data(), 1, n.mean.size()).attr("reshape")(-1))
                        : py::none();
        d["std"] = n.kind == Normalizer::zscore
                       ? py::object(python::to_numpy(n.std.data(), 1, n.std.size()).attr("reshape")(-1))
                       : py::none();
        return d;
      });

  m.def(
      "load_model",
      [](const std::string& path) {
        Model model = [&] {
          py::gil_scoped_release release;
          return load_model(path);
        }();
        const std::string config = model.config.dump();
        auto learner =
            std::make_unique<Learner>(std::move(model.net), std::move(model.norm), model.height, model.width);
        return py::make_tuple(std::move(learner), config);
      },
      py::arg("path"), "A model file the CLI or the package wrote: (Learner, config as JSON text)");
  m.def(
      "presets",
      [] {
        py::list out;
        for (const Preset& p : digitnet::presets()) {
          py::dict d;
          d["name"] = p.name;
          d["seed"] = p.seed;
          d["summary"] = p.summary;
          d["settings"] = settings_dict(p.settings);
          out.append(d);
        }
        return out;
      },
      "The CLI's presets: name, seed write-up, summary, settings");
  m.def(
      "default_settings", [] { return settings_dict(TrainSettings{}); }, "The CLI's settings without a preset");
  m.def(
      "find_preset", [](const std::string& name) { return find_preset(name).name; }, py::arg("name"),
      "The preset's name (seed000 ... are aliases); ValueError listing the names if unknown");
  m.def("load_dataset", &load_dataset, py::arg("spec"), py::arg("split") = "auto", py::arg("seed") = 1,
        "A dataset by name or path, fetched into the cache if needed and split as the CLI splits it");
  m.def(
      "known_datasets",
      [] {
        py::list out;
        for (const KnownDataset& k : known_datasets()) {
          py::dict d;
          d["name"] = k.name;
          d["examples"] = k.examples;
          d["shape"] = k.shape;
          d["source"] = k.source;
          d["licence"] = k.licence;
          d["cached"] = !local_path(k.name).empty();
          out.append(d);
        }
        return out;
      },
      "The datasets known by name");
  m.def("cache_dir", &cache_dir,
        "Where datasets are cached ($DIGITNET_DATA, else $XDG_CACHE_HOME/digitnet, else ~/.cache/digitnet)");
  m.attr("onnx_opset") = kOnnxOpset;
}
