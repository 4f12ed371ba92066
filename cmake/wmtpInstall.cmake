# Install and export rules shared by the src/* libraries (see docs/ARCHITECTURE.md, "Public API").
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Where a consumer's #include "tracking/tracker.h" is found: the public headers keep the
# part/header layout of src/ under include/wmtp/.
set(WMTP_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/wmtp)
set(WMTP_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/wmtp)
set(WMTP_INSTALL_DATADIR ${CMAKE_INSTALL_DATADIR}/wmtp)

# wmtp_install_library(<target> <part> HEADERS <public headers...>)
# Installs the static library <target> into the wmtpTargets export set as wmtp::<part>, its
# public headers into include/wmtp/<part>/, and makes wmtp::<part> an alias in this build too.
# Headers not listed are private: a public header must include public headers only (the
# consumer project in tests/consumer compiles each installed header alone to prove it).
function(wmtp_install_library target part)
  cmake_parse_arguments(arg "" "" "HEADERS" ${ARGN})
  # Position independent: a shared library (the Python module, a consumer's plugin) links them.
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${part} POSITION_INDEPENDENT_CODE ON)
  add_library(wmtp::${part} ALIAS ${target})
  install(TARGETS ${target} EXPORT wmtpTargets COMPONENT wmtp
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(FILES ${arg_HEADERS} DESTINATION ${WMTP_INSTALL_INCLUDEDIR}/${part} COMPONENT wmtp)
endfunction()

# The CMake package (find_package(wmtp CONFIG)), the JSON Schemas, built-in configs and docs.
# Called once, after every library was added.
function(wmtp_install_package)
  install(EXPORT wmtpTargets NAMESPACE wmtp:: DESTINATION ${WMTP_INSTALL_CMAKEDIR} COMPONENT wmtp)
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/wmtpConfig.cmake.in
                                ${PROJECT_BINARY_DIR}/cmake/wmtpConfig.cmake
                                INSTALL_DESTINATION ${WMTP_INSTALL_CMAKEDIR}
                                PATH_VARS WMTP_INSTALL_DATADIR)
  # Same major version, this minor or newer: 0.x releases are not promised to be compatible,
  # so a 0.x consumer asks for the exact minor (SameMinorVersion).
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/wmtpConfigVersion.cmake
                                   COMPATIBILITY SameMinorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/cmake/wmtpConfig.cmake ${PROJECT_BINARY_DIR}/cmake/wmtpConfigVersion.cmake
          DESTINATION ${WMTP_INSTALL_CMAKEDIR} COMPONENT wmtp)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/schemas ${PROJECT_SOURCE_DIR}/configs
          DESTINATION ${WMTP_INSTALL_DATADIR} COMPONENT wmtp)
  install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
          DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT wmtp)
endfunction()
