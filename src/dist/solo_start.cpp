// World::start in a build without MPI: always alone, and refuses to run as one of several.
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "dist/start.hpp"

namespace digitnet::dist {

World& World::start(int&, char**&) {
  // mpirun (Open MPI, MPICH) tells each process how many there are.
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* n = std::getenv(var); n && std::atoi(n) > 1) {
      // One line from the first process; the others leave quietly.
      const char* rank = std::getenv(std::string(var) == "PMI_SIZE" ? "PMI_RANK" : "OMPI_COMM_WORLD_RANK");
      if (rank && std::string(rank) != "0") std::_Exit(1);
      throw Error(
          fmt::format("this digitnet was built without MPI, so {} copies of it would each train alone; build it with "
                      "-DDIGITNET_MPI=ON to run it under mpirun",
                      n));
    }
  World& w = solo_world();
  set_world(w);
  return w;
}

}  // namespace digitnet::dist
