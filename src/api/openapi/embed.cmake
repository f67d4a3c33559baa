# cmake -DIN=docs/openapi.json -DOUT=openapi_document.cc -DTEMPLATE=... -P embed.cmake
# Embeds the OpenAPI document as a raw string literal. A document that is not JSON, or
# whose "openapi" is not a string, fails the build here rather than at the first request.
file(READ "${IN}" DOCUMENT)
string(JSON version ERROR_VARIABLE error GET "${DOCUMENT}" openapi)
if(error)
  message(FATAL_ERROR "${IN}: not a JSON OpenAPI document: ${error}")
endif()
string(FIND "${DOCUMENT}" ")iss_openapi\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string's delimiter )iss_openapi\"")
endif()
configure_file("${TEMPLATE}" "${OUT}" @ONLY)  # rewritten only when it changes
