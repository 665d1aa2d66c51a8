# Warnings are errors on our own code only (third-party headers are SYSTEM includes).
function(spade_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(NOT SPADE_FUZZ)  # the fuzz build uses clang, whose warning set differs from GCC's
    target_compile_options(${target} PRIVATE -Werror -Wno-error=deprecated-declarations)
  endif()
endfunction()

# spade_library(NAME folder SOURCES ... DEPS ...): one static library per folder.
function(spade_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  spade_warnings(${name})
endfunction()
