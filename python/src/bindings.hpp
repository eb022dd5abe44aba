#pragma once
// The compiled module's parts, one file each: the recipe (its table, validation and errors),
// the Learner, and the module's functions (module.cpp: model files, presets, datasets).
#include <pybind11/pybind11.h>

namespace digitnet::python {

void bind_recipe(pybind11::module_& m);
void bind_learner(pybind11::module_& m);

}  // namespace digitnet::python
