// _digitnet: the compiled half of the Python package (python/digitnet wraps it). A Learner
// per estimator (learner_binding.cpp), the recipe (recipe_binding.cpp); here model files and
// datasets by name, as the CLI has them.
#include <cstdio>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "learner.hpp"

namespace py = pybind11;
using namespace digitnet;
using digitnet::python::Learner;

namespace {

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
  // Registered after the one above, so tried before it: a setting's error keeps its name.
  python::bind_recipe(m);
  python::bind_learner(m);

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
