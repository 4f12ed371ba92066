# Debian packages through CPack (scripts/package builds and checks them):
#   wmtp_<version>_<arch>.deb        wmtp-audit, wmtp-report, wmtp-sync, the libraries, headers and
#                                    CMake package, share/wmtp (schemas, configs); no LibTorch
#   wmtp-train_<version>_<arch>.deb  wmtp-train (LibTorch), so that a CI that only audits does not
#                                    pull LibTorch
# Depends comes from dpkg-shlibdeps: the runtime libraries the binaries load, never -dev packages.
# Linking the static libraries from C++ needs the -dev packages named in Suggests.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wmtp)
set(CPACK_PACKAGE_VENDOR wmtp)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "wmtp maintainers <wmtp@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Provable ML experiment batches: audit gates over MLflow runs")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/wmtpStripArchives.cmake)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL wmtp)
if(TARGET wmtp-train)
  list(APPEND CPACK_COMPONENTS_ALL train)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_WMTP_PACKAGE_NAME wmtp)
set(CPACK_DEBIAN_WMTP_DESCRIPTION
    "Audit gates for ML experiment batches (wmtp-audit, wmtp-report, wmtp-sync, wmtp-plan)
 wmtp-audit reads runs back from an MLflow server or a SQLite ledger, replays
 Gates 1-6 and exits non-zero on failure: a pre-merge CI gate. Also the C++
 libraries (wmtp::tracking logs runs to MLflow and a ledger) and their CMake
 package. wmtp-plan prints a plan's runs and their contract for other producers.")
set(CPACK_DEBIAN_WMTP_PACKAGE_SUGGESTS
    "cmake, libsqlite3-dev, libcurl4-openssl-dev | libcurl-dev, libssl-dev, nlohmann-json3-dev")
set(CPACK_DEBIAN_TRAIN_PACKAGE_NAME wmtp-train)
set(CPACK_DEBIAN_TRAIN_DESCRIPTION
    "LibTorch trainer of wmtp (wmtp-train)
 Trains plans of load-forecasting runs and logs each to the SQLite ledger and
 MLflow, as wmtp-audit expects.")
set(CPACK_DEBIAN_TRAIN_PACKAGE_RECOMMENDS "wmtp (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_WMTP_DESCRIPTION "audit tools, libraries, headers")
set(CPACK_COMPONENT_TRAIN_DESCRIPTION "LibTorch trainer")
include(CPack)
