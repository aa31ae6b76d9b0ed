# Included from the top-level CMakeLists.txt right after mos_module(remote ...).
# remote/syscalls.py is the syscall table; remote/gen_syscalls.py validates it
# and generates the C++ arrays (build tree, never committed) and
# docs/syscalls.md (source tree, ignored by git, regenerated at build time).
find_package(Python3 COMPONENTS Interpreter REQUIRED)

set(MOS_SYSCALL_GEN_DIR ${CMAKE_BINARY_DIR}/remote/gen)
set(MOS_SYSCALL_OUTPUTS
    ${MOS_SYSCALL_GEN_DIR}/SyscallTable.inc
    ${MOS_SYSCALL_GEN_DIR}/SyscallMarshaller.inc
    ${MOS_SYSCALL_GEN_DIR}/SyscallFilter.inc
    ${MOS_SYSCALL_GEN_DIR}/SyscallLibcCheck.inc
    ${CMAKE_SOURCE_DIR}/docs/syscalls.md)
# The generator rewrites a file only when its content changes; with the files
# as BYPRODUCTS (restat) and a stamp as the OUTPUT, editing a comment in the
# table regenerates but recompiles nothing.
set(MOS_SYSCALL_STAMP ${MOS_SYSCALL_GEN_DIR}/syscalls.stamp)
add_custom_command(
  OUTPUT ${MOS_SYSCALL_STAMP}
  BYPRODUCTS ${MOS_SYSCALL_OUTPUTS}
  COMMAND Python3::Interpreter ${CMAKE_SOURCE_DIR}/remote/gen_syscalls.py
          --table ${CMAKE_SOURCE_DIR}/remote/syscalls.py
          --out-dir ${MOS_SYSCALL_GEN_DIR}
          --docs ${CMAKE_SOURCE_DIR}/docs/syscalls.md
  COMMAND ${CMAKE_COMMAND} -E touch ${MOS_SYSCALL_STAMP}
  DEPENDS ${CMAKE_SOURCE_DIR}/remote/syscalls.py ${CMAKE_SOURCE_DIR}/remote/gen_syscalls.py
  COMMENT "Generating the syscall table and docs/syscalls.md"
  VERBATIM)
add_custom_target(mos_remote_syscalls DEPENDS ${MOS_SYSCALL_STAMP})

add_dependencies(mos_remote mos_remote_syscalls)
# Public: SyscallTable.h includes the generated SyscallMarshaller.inc.
target_include_directories(mos_remote PUBLIC ${MOS_SYSCALL_GEN_DIR})
if(TARGET remote_tests)
  add_dependencies(remote_tests mos_remote_syscalls)
endif()
