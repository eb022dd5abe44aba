// The Learner from Python: one per estimator, holding its network, normaliser and trainer.
#include <map>

#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/core/json.hpp"
#include "digitnet/data/onnx.hpp"
#include "learner.hpp"

namespace py = pybind11;

namespace digitnet::python {
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

std::vector<float> floats_of(const py::array& a, std::size_t n, const char* what) {
  const auto f = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!f || static_cast<std::size_t>(f.size()) != n)
    throw py::value_error(fmt::format("{}: expected {} numbers", what, n));
  return {f.data(), f.data() + n};
}

// A recipe the package sends as JSON text (validated; SettingError names a bad setting).
Recipe recipe_of(const std::string& text) { return recipe_from_json(parse_json(text, "recipe")); }

}  // namespace

void bind_learner(py::module_& m) {
  py::class_<Learner>(m, "Learner")
      .def(py::init([](const std::string& recipe, int height, int width) {
             return std::make_unique<Learner>(recipe_of(recipe), height, width);
           }),
           py::arg("recipe_json"), py::arg("height"), py::arg("width"))
      .def(
          "init", [](Learner& l, const std::string& recipe) { l.init(recipe_of(recipe)); }, py::arg("recipe_json"))
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
          "start", [](Learner& l, const std::string& recipe) { l.start(recipe_of(recipe)); }, py::arg("recipe_json"))
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
      .def("predict_proba", &Learner::predict_proba, py::arg("X"), py::arg("quantize") = "float32")
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
      .def("values",
           [](Learner& l) {
             const std::vector<float> v = l.values();
             return python::to_numpy(v.data(), 1, v.size()).attr("reshape")(v.size());
           })
      .def(
          "set_values",
          [](Learner& l, const py::array& v) {
            const auto n = l.values().size();
            l.set_values(floats_of(v, n, "values"));
          },
          py::arg("values"))
      .def_property_readonly("batch_norm", [](Learner& l) { return l.arch().batch_norm; })
      .def(
          "save",
          [](Learner& l, const std::string& path, const std::string& extra_json) {
            l.save(path, parse_json(extra_json, "save: the config"));
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
}

}  // namespace digitnet::python
