# SPDX-License-Identifier: MIT
# Debian packages from the build: `cmake --build BUILD --target package` in a
# build configured with -DCMAKE_INSTALL_PREFIX=/usr. Three packages, as Debian
# Policy (8.1, 8.4) splits a library: liblbmember0 (the shared object, named
# after its SONAME so that a later incompatible version installs beside it),
# liblbmember-dev (header, .pc, static library) and lbmember (the CLI, the
# Nagios plugin, the Lua module, the Ansible collection). All faces but the
# CLI link the core statically: only the CLI needs liblbmember0.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lbmember)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "lbmember maintainers <maintainers@lbmember.example.org>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL lib dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Where dpkg-shlibdeps finds liblbmember.so.0 for the CLI (the dependency on
# liblbmember0 itself comes from the components' DEPENDS).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/core)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(lbm_lib_package liblbmember${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_LIB_PACKAGE_NAME ${lbm_lib_package})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_LIB_DESCRIPTION "take load-balancer members out of rotation gently (library)
liblbmember drains, disables and enables members of LVS/IPVS (generic
netlink), HAProxy (runtime API) and F5 BIG-IP LTM (iControl REST) pools the
same way, waits for their connections to end and puts them back exactly as
they were.
.
This package contains the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME liblbmember-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS lib)
set(CPACK_COMPONENT_DEV_DESCRIPTION "take load-balancer members out of rotation gently (development files)
liblbmember drains, disables and enables members of LVS/IPVS, HAProxy and F5
BIG-IP LTM pools the same way.
.
This package contains the header lbmember.h, the pkg-config file and the
static library.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME lbmember)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION admin)
set(CPACK_COMPONENT_TOOLS_DEPENDS lib)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SUGGESTS "ansible, icinga2 | nagios4, lua5.4")
set(CPACK_COMPONENT_TOOLS_DESCRIPTION "take load-balancer members out of rotation gently
Drains, disables and enables members of LVS/IPVS, HAProxy and F5 BIG-IP LTM
pools the same way, waits for their connections to end and puts them back
exactly as they were, instead of stopping the application and letting health
checks cut its users off.
.
This package contains:
 - lbmember, the command line;
 - check_lb_members, a Nagios/Icinga plugin reporting members out of
   rotation, with its Icinga 2 CheckCommand and Nagios command definitions;
 - the Lua 5.4 module lbmember;
 - the Ansible collection lbmember.lb (module lb_member).
")

# The dev package's pkg-config file names the core's own dependencies
# (Requires.private); F5 opens libcurl at run time only, so nothing links it.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS libjansson-dev)
if(LBM_WITH_LVS)
  string(APPEND CPACK_DEBIAN_DEV_PACKAGE_DEPENDS ", libnl-3-dev, libnl-genl-3-dev")
endif()
if(LBM_WITH_F5)
  set(CPACK_DEBIAN_LIB_PACKAGE_RECOMMENDS libcurl4)
  set(CPACK_DEBIAN_TOOLS_PACKAGE_RECOMMENDS libcurl4)
endif()

# Every package carries copyright and changelog (Policy 12.5, 12.7), which a
# plain `cmake --install` leaves out (EXCLUDE_FROM_ALL: component installs only).
set(lbm_debian ${PROJECT_SOURCE_DIR}/packaging/debian)
file(STRINGS ${lbm_debian}/changelog lbm_changelog_head LIMIT_COUNT 1)
if(NOT lbm_changelog_head MATCHES "^lbmember \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "packaging/debian/changelog: the latest entry is \"${lbm_changelog_head}\", "
    "expected one for version ${PROJECT_VERSION} (project() in CMakeLists.txt)")
endif()
set(lbm_changelog_gz ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
add_custom_command(OUTPUT ${lbm_changelog_gz}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
  COMMAND gzip -9n -c ${lbm_debian}/changelog > ${lbm_changelog_gz}
  DEPENDS ${lbm_debian}/changelog VERBATIM)
add_custom_target(debian_changelog ALL DEPENDS ${lbm_changelog_gz})
foreach(comp lib dev tools)
  string(TOUPPER ${comp} COMP)
  install(FILES ${lbm_debian}/copyright ${lbm_changelog_gz}
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${CPACK_DEBIAN_${COMP}_PACKAGE_NAME} COMPONENT ${comp} EXCLUDE_FROM_ALL)
endforeach()
install(FILES ${lbm_debian}/${lbm_lib_package}.lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
  RENAME ${lbm_lib_package} COMPONENT lib EXCLUDE_FROM_ALL)

# The shared object's package tells ld.so's cache through the ldconfig trigger
# (Policy 8.1.1); its maintainer scripts are empty, so that CPack does not
# write its own calling ldconfig (the lintian override says so). The files in
# /etc are conffiles.
set(lbm_control ${CMAKE_BINARY_DIR}/packaging/control)
file(WRITE ${lbm_control}/lib/triggers "activate-noawait ldconfig\n")
file(WRITE ${lbm_control}/lib/postinst "#!/bin/sh\nset -e\n")
file(WRITE ${lbm_control}/lib/postrm "#!/bin/sh\nset -e\n")
file(WRITE ${lbm_control}/lib/shlibs "liblbmember ${PROJECT_VERSION_MAJOR} ${lbm_lib_package} (>= ${PROJECT_VERSION})\n")
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA
  ${lbm_control}/lib/triggers ${lbm_control}/lib/shlibs ${lbm_control}/lib/postinst ${lbm_control}/lib/postrm)
get_property(lbm_conffiles GLOBAL PROPERTY LBM_DEB_CONFFILES)
list(JOIN lbm_conffiles "\n" lbm_conffiles)
file(WRITE ${lbm_control}/tools/conffiles "${lbm_conffiles}\n")
set(CPACK_DEBIAN_TOOLS_PACKAGE_CONTROL_EXTRA ${lbm_control}/tools/conffiles)

# Refused when the package is made (cpack reads this file then), not when
# configuring: a package for another prefix would put the libraries in
# /usr/lib, not in the multiarch directory where Debian's linker and Lua look.
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/packaging/cpack-check.cmake)
if(LBM_PREFIX_USR)
  file(WRITE ${CPACK_PROJECT_CONFIG_FILE} "")
else()
  file(WRITE ${CPACK_PROJECT_CONFIG_FILE} "message(FATAL_ERROR \"lbmember: the Debian packages need a build \"
  \"configured with -DCMAKE_INSTALL_PREFIX=/usr (this one has ${CMAKE_INSTALL_PREFIX}): \"
  \"cmake -S ${PROJECT_SOURCE_DIR} -B ${CMAKE_BINARY_DIR} -DCMAKE_INSTALL_PREFIX=/usr\")\n")
endif()
include(CPack)
