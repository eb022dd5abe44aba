#include "arrays.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace digitnet::python {

Dataset borrow_features(const py::array& X, int height, int width) {
  if (X.ndim() != 2)
    throw py::value_error(fmt::format("X: expected a 2-D array (examples, features), got {} dimensions", X.ndim()));
  // Equivalent dtypes, not the same object: arrays that joblib memory-maps or unpickles carry
  // their own dtype objects.
  const bool bytes = py::isinstance<py::array_t<std::uint8_t>>(X);
  if (!bytes && !py::isinstance<py::array_t<float>>(X))
    throw py::type_error(
        fmt::format("X: dtype {} is not supported here (uint8 or float32)", py::str(X.dtype()).cast<std::string>()));
  if (!(X.flags() & py::array::c_style))
    throw py::value_error("X: the array is not C-contiguous (np.ascontiguousarray(X) makes a contiguous copy)");
  const auto n = static_cast<std::size_t>(X.shape(0)), F = static_cast<std::size_t>(X.shape(1));
  if (n == 0 || F == 0) throw py::value_error(fmt::format("X: the array is empty (shape ({}, {}))", n, F));
  if (static_cast<std::size_t>(height) * static_cast<std::size_t>(width) != F)
    throw py::value_error(fmt::format("X has {} values per example but the network's input size is {} ({}x{})", F,
                                      height * width, height, width));
  Dataset d;
  d.name = "numpy";
  d.height = height;
  d.width = width;
  if (bytes) {
    d.pixel_view = {static_cast<const std::uint8_t*>(X.data()), n * F};
    d.pixel_max = 255;
  } else {
    d.value_view = {static_cast<const float*>(X.data()), n * F};
    d.pixel_max = 1;
  }
  d.labels.assign(n, 0);
  return d;
}

Dataset borrow_labelled(const py::array& X, const py::array& y, int height, int width, int classes) {
  Dataset d = borrow_features(X, height, width);
  if (y.ndim() != 1 || !py::isinstance<py::array_t<std::uint8_t>>(y))
    throw py::type_error("y: expected a 1-D uint8 array of class indices");
  if (static_cast<std::size_t>(y.shape(0)) != d.size())
    throw py::value_error(fmt::format("y has {} labels but X has {} examples", y.shape(0), d.size()));
  // strides: y may be any 1-D view (a column of a 2-D array, a reversed slice)
  const auto* base = static_cast<const std::uint8_t*>(y.data());
  const py::ssize_t stride = y.strides(0);
  for (std::size_t i = 0; i < d.size(); ++i) {
    const std::uint8_t label = base[static_cast<py::ssize_t>(i) * stride];
    if (label >= classes)
      throw py::value_error(
          fmt::format("y: label {} at index {} is not below the network's {} classes", label, i, classes));
    d.labels[i] = label;
  }
  return d;
}

py::array_t<float> to_numpy(const float* values, std::size_t rows, std::size_t cols) {
  py::array_t<float> out({rows, cols});
  if (rows != 0 && cols != 0) std::memcpy(out.mutable_data(), values, rows * cols * sizeof(float));
  return out;
}

}  // namespace digitnet::python
