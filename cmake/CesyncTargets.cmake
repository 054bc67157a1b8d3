# Shared helpers: every module is one static library named cesync_<module>, built from the .cc
# files of its folder; tests and benchmarks are collected by file name, so adding a file needs no
# CMake edit.

set(CESYNC_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(CESYNC_WERROR)
  list(APPEND CESYNC_WARNINGS -Werror)
endif()

function(cesync_apply_options target)
  target_compile_options(${target} PRIVATE ${CESYNC_WARNINGS})
  if(CESYNC_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${CESYNC_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${CESYNC_SANITIZE})
  endif()
endfunction()

# cesync_module(<name> DEPS <targets...>): src/<name>/**.cc -> static library cesync_<name>.
function(cesync_module name)
  cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "/main\\.cc$")
  if(srcs)
    add_library(cesync_${name} STATIC ${srcs})
    target_include_directories(cesync_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(cesync_${name} PUBLIC ${M_DEPS})
    cesync_apply_options(cesync_${name})
  else()
    add_library(cesync_${name} INTERFACE)
    target_include_directories(cesync_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(cesync_${name} INTERFACE ${M_DEPS})
  endif()
endfunction()

# cesync_tests(<binary> LABEL <label> DEPS <targets...>): every *_test.cc of the current folder
# becomes one gtest binary whose tests are registered with ctest under <label>.
function(cesync_tests binary)
  cmake_parse_arguments(T "" "LABEL" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(NOT srcs)
    return()
  endif()
  add_executable(${binary} ${srcs})
  target_link_libraries(${binary} PRIVATE ${T_DEPS} GTest::gtest_main GTest::gmock)
  target_include_directories(${binary} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  cesync_apply_options(${binary})
  gtest_discover_tests(${binary} PROPERTIES LABELS ${T_LABEL} DISCOVERY_TIMEOUT 30
                       DISCOVERY_MODE PRE_TEST)
endfunction()
