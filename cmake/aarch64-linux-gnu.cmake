# Toolchain file: cross-compile lfpool for aarch64 Linux (glibc) with
# Debian's gcc-aarch64-linux-gnu, and run the tests under qemu-user.
#
#   cmake -S . -B build-aarch64 \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#     [-DLFPOOL_AARCH64_SYSROOT=<dir>]
#
# The target's libraries (ck, Criterion) are looked up by pkg-config only:
# in the arm64 multiarch directories, or, with LFPOOL_AARCH64_SYSROOT, in a
# tree of unpacked arm64 packages (Debian's libck0 cannot be installed for
# two architectures at once; scripts/cross_aarch64.sh builds that tree).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(LFPOOL_CROSS_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${LFPOOL_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${LFPOOL_CROSS_TRIPLET}-g++)

set(LFPOOL_AARCH64_SYSROOT "" CACHE PATH
  "Tree of unpacked arm64 packages holding ck (and Criterion), or empty")
# try_compile projects read this file again, in the same process: give them
# the same value, or they would reset the environment below.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LFPOOL_AARCH64_SYSROOT)
if(LFPOOL_AARCH64_SYSROOT)
  set(_lfpool_sr ${LFPOOL_AARCH64_SYSROOT})
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "${_lfpool_sr}")
  set(ENV{PKG_CONFIG_LIBDIR}
    "${_lfpool_sr}/usr/lib/${LFPOOL_CROSS_TRIPLET}/pkgconfig:${_lfpool_sr}/usr/share/pkgconfig")
  # The libraries' own dependencies (Criterion's libgit2 -> libz, ...).
  set(_lfpool_rpl
    "-Wl,-rpath-link,${_lfpool_sr}/usr/lib/${LFPOOL_CROSS_TRIPLET}:${_lfpool_sr}/lib/${LFPOOL_CROSS_TRIPLET}")
  set(CMAKE_EXE_LINKER_FLAGS_INIT "${_lfpool_rpl}")
  set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_lfpool_rpl}")
else()
  set(ENV{PKG_CONFIG_LIBDIR}
    "/usr/lib/${LFPOOL_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
endif()
# Never pick up a host library by accident.
set(CMAKE_FIND_ROOT_PATH /usr/${LFPOOL_CROSS_TRIPLET} ${LFPOOL_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest runs the test programs through qemu; the target's dynamic loader
# and libc come from the cross toolchain's tree (QEMU_LD_PREFIX).
find_program(LFPOOL_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(LFPOOL_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LFPOOL_QEMU_AARCH64})
endif()
