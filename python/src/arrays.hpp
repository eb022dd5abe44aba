#pragma once
// NumPy arrays as digitnet Datasets, borrowed rather than copied: a C-contiguous uint8 or
// float32 array of shape (examples, features) becomes the dataset's rows as it is. Anything
// else is refused with a one-line ValueError or TypeError (the Python package converts first).
#include <cstdint>

#include <pybind11/numpy.h>

#include "digitnet/core/dataset.hpp"

namespace digitnet::python {

namespace py = pybind11;

// X's rows as a dataset of height x width images (height * width must be X's column count);
// uint8 rows are pixels read as pixel / 255 (the CLI's scale), float32 rows values read as
// given. Labels are n zeros: predictions do not read them. X must outlive the dataset.
Dataset borrow_features(const py::array& X, int height, int width);
// The same with labels: y is uint8 of shape (examples,), each below `classes`.
Dataset borrow_labelled(const py::array& X, const py::array& y, int height, int width, int classes);

// A new float32 array with a copy of rows x cols values.
py::array_t<float> to_numpy(const float* values, std::size_t rows, std::size_t cols);

}  // namespace digitnet::python
