# `cmake --install`: headers, the three libraries, the command, a CMake package and
# pkg-config files. A consumer writes find_package(digitnet [COMPONENTS core data fetch])
# and links digitnet::core (or ::data, ::fetch); examples/consumer is one, built by CI.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DIGITNET_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/digitnet)
install(DIRECTORY include/digitnet DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS digitnet_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# One export set per layer, so that find_package(digitnet COMPONENTS core) looks for
# Highway alone and not for curl or libzip.
foreach(layer core data fetch)
  install(TARGETS digitnet_${layer} EXPORT digitnet-${layer}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(EXPORT digitnet-${layer} NAMESPACE digitnet:: FILE digitnet-${layer}-targets.cmake
    DESTINATION ${DIGITNET_CMAKE_DIR})
endforeach()
configure_package_config_file(cmake/digitnetConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/digitnetConfig.cmake
  INSTALL_DESTINATION ${DIGITNET_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/digitnetConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/digitnetConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/digitnetConfigVersion.cmake
  DESTINATION ${DIGITNET_CMAKE_DIR})

# pkg-config: digitnet-core, digitnet-data, digitnet-fetch, and digitnet (all of it).
# The libraries are static by default, so what they link is in Requires, not Requires.private.
set(DIGITNET_PC_core_REQUIRES "fmt libhwy")
set(DIGITNET_PC_core_LIBS "-pthread")
set(DIGITNET_PC_data_REQUIRES "digitnet-core nlohmann_json zlib libzip")
set(DIGITNET_PC_fetch_REQUIRES "digitnet-data libcurl libarchive libcrypto")
set(DIGITNET_PC_core_DESCRIPTION "digitnet's tensors, kernels, layers, networks and training")
set(DIGITNET_PC_data_DESCRIPTION "digitnet's file formats: IDX, CSV, npz, images, model files")
set(DIGITNET_PC_fetch_DESCRIPTION "digitnet's datasets by name: verified downloads and export")
foreach(layer core data fetch)
  set(DIGITNET_PC_NAME digitnet-${layer})
  set(DIGITNET_PC_DESCRIPTION ${DIGITNET_PC_${layer}_DESCRIPTION})
  set(DIGITNET_PC_REQUIRES ${DIGITNET_PC_${layer}_REQUIRES})
  set(DIGITNET_PC_LIBS "-ldigitnet-${layer} ${DIGITNET_PC_${layer}_LIBS}")
  configure_file(cmake/digitnet.pc.in ${CMAKE_CURRENT_BINARY_DIR}/digitnet-${layer}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/digitnet-${layer}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
set(DIGITNET_PC_NAME digitnet)
set(DIGITNET_PC_DESCRIPTION "digitnet: fully-connected networks for handwritten digits, from scratch")
set(DIGITNET_PC_REQUIRES digitnet-fetch)
set(DIGITNET_PC_LIBS "")
configure_file(cmake/digitnet.pc.in ${CMAKE_CURRENT_BINARY_DIR}/digitnet.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/digitnet.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# mpirun with the flags a first run on one machine needs (as root, more ranks than cores), and
# one line when the ranks cannot start.
install(PROGRAMS scripts/digitnet-mpirun DESTINATION ${CMAKE_INSTALL_BINDIR})
