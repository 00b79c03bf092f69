# The dashboard module (dashboard/): cpp-httplib and the web assets embedded at build time.

# Debian's libcpp-httplib-dev ships a compiled library and no CMake package. Its pkg-config flags
# carry the TLS/zlib/brotli defines the library was built with; they change class layouts, so every
# user of httplib.h (the dashboard and its tests) must compile with them.
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(nlohmann_json REQUIRED)
target_link_libraries(tessera_internal INTERFACE PkgConfig::HTTPLIB nlohmann_json::nlohmann_json)

if(TARGET tessera_dashboard)
  file(GLOB _dashboard_assets CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/dashboard/assets/*)
  set(_dashboard_assets_cpp ${PROJECT_BINARY_DIR}/generated/dashboard_assets.cpp)
  add_custom_command(OUTPUT ${_dashboard_assets_cpp}
    COMMAND ${CMAKE_COMMAND} -DASSET_DIR=${PROJECT_SOURCE_DIR}/dashboard/assets
      -DOUTPUT=${_dashboard_assets_cpp} -P ${PROJECT_SOURCE_DIR}/cmake/embed_assets.cmake
    DEPENDS ${_dashboard_assets} ${PROJECT_SOURCE_DIR}/cmake/embed_assets.cmake
    COMMENT "Embedding the dashboard's web assets"
    VERBATIM)
  target_sources(tessera_dashboard PRIVATE ${_dashboard_assets_cpp})
endif()
