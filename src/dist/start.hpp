#pragma once
// What world.cpp shares with the World::start of each build (solo_start.cpp, mpi_world.cpp).
#include "dist/world.hpp"

namespace digitnet::dist {

World& solo_world();           // one process alone
void set_world(World& world);  // what World::get() returns from now on

}  // namespace digitnet::dist
