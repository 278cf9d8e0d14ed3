# What `cmake --install` (and `make install PREFIX=...`) puts where:
#   lib/libstortimer.so.<version> (SONAME libstortimer.so.<major>, or
#   .so.0.<minor> before 1.0.0), the
#   libstortimer.so link, lib/libstortimer.a; include/storport.h and
#   stortimer.h; lib/pkgconfig/stortimer.pc; lib/cmake/stortimer/ (the
#   package: find_package(stortimer) gives stortimer::stortimer, the shared
#   library, and stortimer::stortimer_static); share/man/man3/*.3;
#   bin/stortimer-demo and share/man/man1/stortimer-demo.1.
include(CMakePackageConfigHelpers)

install(TARGETS stortimer_shared stortimer_static EXPORT stortimerTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES include/storport.h include/stortimer.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(STORTIMER_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/stortimer)
install(EXPORT stortimerTargets NAMESPACE stortimer:: DESTINATION ${STORTIMER_CMAKE_DIR})
configure_package_config_file(cmake/stortimerConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/stortimerConfig.cmake INSTALL_DESTINATION ${STORTIMER_CMAKE_DIR})
# Before 1.0.0 a minor version may break the API (README, "Versions").
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(STORTIMER_COMPATIBILITY SameMinorVersion)
else()
  set(STORTIMER_COMPATIBILITY SameMajorVersion)
endif()
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/stortimerConfigVersion.cmake
  COMPATIBILITY ${STORTIMER_COMPATIBILITY})
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/stortimerConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/stortimerConfigVersion.cmake DESTINATION ${STORTIMER_CMAKE_DIR})

# pkg-config: paths relative to the .pc file's own place (${pcfiledir}),
# so the installed tree works wherever --prefix or DESTDIR put it.
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(STORTIMER_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(STORTIMER_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(STORTIMER_PC_PREFIX "${CMAKE_INSTALL_PREFIX}") # fixed places: not relocatable
else()
  file(RELATIVE_PATH STORTIMER_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" STORTIMER_PC_TO_PREFIX "${STORTIMER_PC_TO_PREFIX}")
  set(STORTIMER_PC_PREFIX "\${pcfiledir}/${STORTIMER_PC_TO_PREFIX}")
endif()
configure_file(cmake/stortimer.pc.in ${CMAKE_CURRENT_BINARY_DIR}/stortimer.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/stortimer.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(DIRECTORY docs/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man3
  FILES_MATCHING PATTERN "*.3")

# The demo: linked with the static library, so it runs from bin/ wherever
# the prefix is.
install(TARGETS stortimer-demo RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES docs/man/stortimer-demo.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
