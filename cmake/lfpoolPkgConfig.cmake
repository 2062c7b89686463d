# Generates and installs lfpool.pc. The file is relocatable: its prefix is
# ${pcfiledir} followed by as many ".." as the install libdir has components
# (+1 for pkgconfig/), so a prefix moved elsewhere still resolves. Absolute
# CMAKE_INSTALL_LIBDIR/INCLUDEDIR are used as they are.
set(lfpool_pcdir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(LFPOOL_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(LFPOOL_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH lfpool_pc_up "/lfpool-root/${lfpool_pcdir}" "/lfpool-root")
  string(REGEX REPLACE "/$" "" lfpool_pc_up "${lfpool_pc_up}")
  set(LFPOOL_PC_PREFIX "\${pcfiledir}/${lfpool_pc_up}")
  set(LFPOOL_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(LFPOOL_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(LFPOOL_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/lfpool.pc.in
  ${PROJECT_BINARY_DIR}/lfpool.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/lfpool.pc DESTINATION ${lfpool_pcdir})
