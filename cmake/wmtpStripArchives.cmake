# CPACK_PRE_BUILD_SCRIPTS: strips the debug sections from the static libraries staged for a
# package (CPACK_STRIP_FILES strips the executables only); a RelWithDebInfo build's archives are
# otherwise ~90% DWARF.
file(GLOB_RECURSE archives "${CPACK_TEMPORARY_DIRECTORY}/*.a")
foreach(archive IN LISTS archives)
  execute_process(COMMAND strip --strip-debug "${archive}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "strip --strip-debug ${archive} failed")
  endif()
endforeach()
