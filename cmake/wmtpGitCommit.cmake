# WMTP_GIT_COMMIT: the checkout's commit at configure time ("0fa93e7c1d2e", "-dirty" appended when
# tracked files differ from it), for --version. Builds outside a git checkout (a source tarball)
# say "unknown" unless -DWMTP_GIT_COMMIT_OVERRIDE=<commit> names it. Reconfigure (scripts/test does, every
# run) to refresh it; only src/cli's version text depends on it.
if(DEFINED CACHE{WMTP_GIT_COMMIT_OVERRIDE})
  set(WMTP_GIT_COMMIT "${WMTP_GIT_COMMIT_OVERRIDE}")
  return()
endif()
set(WMTP_GIT_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND commit)
    set(WMTP_GIT_COMMIT "${commit}")
    # Refresh the index first so that a touched but unchanged file is not "dirty".
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} update-index -q --refresh
                    OUTPUT_QUIET ERROR_QUIET)
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} diff-index --quiet HEAD --
                    RESULT_VARIABLE dirty OUTPUT_QUIET ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      string(APPEND WMTP_GIT_COMMIT "-dirty")
    endif()
  endif()
endif()
