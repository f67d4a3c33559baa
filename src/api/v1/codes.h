// The cloud's wire codes: every error code of the reference (section 5.2 of
// ../shared/seeds/image-search-api-reference.txt, IS.*, APIG.*, ModelArts.*), with the HTTP
// status this server answers it with and the reference's English message, plus the
// gateway's APIG.0302 (403), which the cloud's API gateway documents outside this
// reference. A code that is not in this table cannot be written: Code() is consteval, so
// Code("IS.9999") fails to compile.
//
//   const WireCode& c = Code("IS.2019");   // {"IS.2019", 400, "The instance does not exist."}
//
// The reference answers every IS.* error with HTTP 400; the gateway's APIG.* codes use
// their own statuses (401, 403, 404, 413, 429). tests/api/v1_codes_test.cc checks the table
// against the reference file.
// Thread contract: constants.
#ifndef ISS_API_V1_CODES_H_
#define ISS_API_V1_CODES_H_

#include <string_view>

namespace iss::api::v1 {

struct WireCode {
  std::string_view code;     // "IS.2019"
  int http_status;           // 400, 401, 403, 404, 413, 429
  std::string_view message;  // the reference's error_msg
};

inline constexpr WireCode kWireCodes[] = {
    {"IS.0001", 400, "The request parameter is missing or empty."},
    {"IS.0002", 400, "The type of the request parameter is not supported."},
    {"IS.0003", 400, "The request parameter cannot be empty."},
    {"IS.0004", 400, "Exception verifying token."},
    {"IS.0005", 400, "The header is missing or empty."},
    {"IS.0006", 400, "The request body is too big."},
    {"IS.0007", 400, "Invalid instance name."},
    {"IS.0008", 400, "The JSON format of the input data is incorrect."},
    {"IS.0009", 400, "The request failed due to an internal error."},
    {"IS.0010", 400, "The request method is not allowed."},
    {"IS.0011", 400, "The user is not allowed to use the request method."},
    {"IS.0012", 400, "Operation timed out."},
    {"IS.0013", 400, "The token is empty."},
    {"IS.0014", 400, "Instance status is abnormal."},
    {"IS.0015", 400, "The model file does not exist."},
    {"IS.0016", 400, "The path is invalid."},
    {"IS.0017", 400, "The request is not authorized."},
    {"IS.0018", 400, "The OBT is not applied for."},
    {"IS.0019", 400, "The user service ID does not match the project ID."},
    {"IS.0020", 400, "The value cannot be obtained."},
    {"IS.0021", 400, "The token has expired."},
    {"IS.0022", 400, "The current user has restricted rights."},
    {"IS.1001", 400, "The service does not exist."},
    {"IS.1002", 400, "No tag value."},
    {"IS.1003", 400, "Too many tags."},
    {"IS.1004", 400, "The tag does not match."},
    {"IS.1005", 400, "Failed to add the image."},
    {"IS.1006", 400, "Failed to delete the image."},
    {"IS.1007", 400, "Failed to update the image."},
    {"IS.1008", 400, "Failed to search for the image."},
    {"IS.1009", 400, "Failed to query the image."},
    {"IS.1010", 400, "The value of limit is incorrect."},
    {"IS.1011", 400, "The value of offset is incorrect."},
    {"IS.1015", 400, "Too many images in the instance."},
    {"IS.1016", 400, "Failed to detect the image."},
    {"IS.2000", 400, "Failed to download the image."},
    {"IS.2001", 400, "The image format is not supported."},
    {"IS.2002", 400, "The image file has been damaged."},
    {"IS.2003", 400, "The OBS object cannot be obtained."},
    {"IS.2004", 400, "The OBS bucket does not exist."},
    {"IS.2005", 400, "Failed to save the temporary file."},
    {"IS.2006", 400, "The image is not indexed."},
    {"IS.2007", 400, "Base64 decoding of the input data is incorrect."},
    {"IS.2008", 400, "The request parameters must contain path information."},
    {"IS.2009", 400, "The request parameters must contain tag information."},
    {"IS.2010", 400, "The request parameter does not exist."},
    {"IS.2011", 400, "OBS is not authorized to obtain images."},
    {"IS.2012", 400, "The image path cannot be empty."},
    {"IS.2013", 400,
     "The path and file in the request parameter cannot be empty at the same time."},
    {"IS.2014", 400, "Failed to create the cache file path."},
    {"IS.2015", 400, "The request parameter must contain path or file."},
    {"IS.2016", 400, "Failed to create the OBS client."},
    {"IS.2019", 400, "The instance does not exist."},
    {"IS.2100", 400, "Failed to add the image."},
    {"IS.2101", 400, "Failed to delete the image."},
    {"IS.2102", 400, "Failed to search for the image."},
    {"IS.2103", 400, "Failed to check the image."},
    {"IS.2104", 400, "Failed to update the image information."},
    {"IS.2105", 400, "The service is not running properly."},
    {"IS.2106", 400, "The image is too big."},
    {"IS.2107", 400, "The image is too small."},
    {"IS.2108", 400, "An error occurred while the service is running."},
    {"IS.2109", 400, "Failed to connect to the gallery."},
    {"IS.2111", 400, "Failed to perform image detection."},
    {"IS.2112", 400, "The request parameter must contain image."},
    {"IS.3000", 400, "The service name already exists."},
    {"IS.3001", 400, "Failed to save the service information."},
    {"IS.3002", 400, "Failed to delete services from some nodes."},
    {"IS.3003", 400, "Failed to delete the instance from the node."},
    {"IS.3004", 400, "The model cannot be used."},
    {"IS.3005", 400, "The service name does not exist."},
    {"IS.3006", 400, "The model is in use."},
    {"IS.3007", 400, "The user does not exist."},
    {"IS.3008", 400, "Failed to start the instance."},
    {"IS.3009", 400, "Decompressing failed."},
    {"IS.3010", 400, "Failed to start the service."},
    {"IS.3011", 400, "Failed to initialize the configuration file."},
    {"IS.3012", 400, "No management instance is found."},
    {"IS.3013", 400, "Failed to obtain the instance."},
    {"IS.3014", 400, "The model name does not exist."},
    {"IS.3015", 400, "Failed to obtain the OBS bucket."},
    {"IS.3016", 400, "Failed to authorize the OBS bucket."},
    {"IS.3017", 400, "The OBS bucket is empty."},
    {"IS.3018", 400, "Failed to obtain the OBS bucket list."},
    {"IS.3019", 400, "Failed to add the OBS bucket."},
    {"IS.3020", 400, "Failed to obtain the bucket listening event."},
    {"IS.3021", 400, "No instance is found."},
    {"IS.3022", 400, "Failed to change the instance name."},
    {"IS.3023", 400, "The instance tag does not exist."},
    {"IS.3024", 400, "Too many instance tags."},
    {"IS.3025", 400, "The instance tag cannot be deleted."},
    {"IS.3026", 400, "Failed to add the instance tag."},
    {"IS.3027", 400, "Failed to upload the model to OBS."},
    {"IS.3028", 400, "Failed to create the instance."},
    {"IS.3029", 400, "Failed to obtain the instance model."},
    {"IS.3030", 400, "The instance cannot be deleted because it is being created."},
    {"IS.3031", 400, "Failed to obtain the statistics."},
    {"IS.3032", 400, "The instance is being deleted."},
    {"IS.3033", 400, "Failed to obtain the batch import task."},
    {"IS.3034", 400, "The blacklist or whitelist is invalid."},
    {"IS.3035", 400, "The instance scale does not exist."},
    {"IS.3036", 400, "The user instance description is too long."},
    {"IS.3037", 400, "A bucket event exists in the instance."},
    {"IS.3038", 400,
     "An offline import task is running on the instance. The instance cannot be deleted."},
    {"IS.3039", 400, "Failed to reset the instance scale."},
    {"IS.3040", 400, "Failed to reset the instance to a smaller scale."},
    {"IS.3041", 400, "Failed to obtain the instance scale."},
    {"IS.3050", 400, "Failed to obtain the OBS bucket folder list."},
    {"IS.3051", 400,
     "The bucket name in the path does not match the name of the selected OBS bucket."},
    {"IS.3052", 400, "The path does not contain the file directory or list in the bucket."},
    {"IS.3053", 400, "The file list or directory in the path does not exist."},
    {"IS.4000", 400, "Failed to download the system package."},
    {"IS.4001", 400, "The OBS bucket is empty."},
    {"IS.4002", 400, "The service cannot be initialized."},
    {"IS.4003", 400, "Failed to obtain the search result."},
    {"IS.4004", 400, "The instance name does not exist."},
    {"IS.4005", 400, "Failed to create the offline import task."},
    {"IS.4006", 400, "The account is frozen."},
    {"APIG.0101", 404, "The API does not exist or has not been published."},
    {"APIG.0301", 401, "Incorrect IAM authentication information."},
    {"APIG.0201", 413, "The request body is oversized."},
    {"APIG.0308", 429,
     "The request is sent too fast and exceeds the default rate limit of the service."},
    {"ModelArts.0203", 400, "Invalid token."},
    {"ModelArts.4101", 400, "The token is empty."},
    {"ModelArts.4102", 400, "Failed to parse the token."},
    {"ModelArts.4103", 400, "The token is invalid."},
    {"ModelArts.4104", 400, "The length of the request body is invalid."},
    {"ModelArts.4105", 400, "The JSON format of the request body is incorrect."},
    {"ModelArts.4106", 400, "The account is restricted."},
    {"ModelArts.4107", 400, "An exception occurred when obtaining the temporary AK/SK."},
    {"ModelArts.4201", 400, "The request URL does not contain the service ID."},
    {"ModelArts.4202", 400, "The request URL format is invalid."},
    {"ModelArts.4203", 400, "No access permission."},
    {"ModelArts.4204", 400, "The API is not subscribed to."},
    {"ModelArts.4601", 400, "The external URL is invalid."},
    {"ModelArts.4603", 400, "The file failed to be downloaded from the external URL."},
    {"ModelArts.4702", 400, "The OBS agency failed to be queried."},
    {"ModelArts.4703", 400, "The OBS URL is invalid."},
    {"ModelArts.4704", 400, "Failed to obtain the OBS file."},
    {"ModelArts.4705", 400, "The OBS file is oversized."},
    {"ModelArts.4706", 400, "The OBS file does not exist."},
    // Not in the reference's table: the API gateway's "not authorized" (IAM user lacks the
    // right to the project), documented with the gateway's codes the reference links to.
    {"APIG.0302", 403, "The IAM user is not authorized to access the API."},
};

// The code `code`; a compile error when the table has no such code.
consteval const WireCode& Code(std::string_view code) {
  for (const WireCode& c : kWireCodes) {
    if (c.code == code) return c;
  }
  throw "not a wire code of the reference (api/v1/codes.h)";
}

// Run-time lookup (a code read from elsewhere, e.g. a test); nullptr when unknown.
constexpr const WireCode* FindCode(std::string_view code) {
  for (const WireCode& c : kWireCodes) {
    if (c.code == code) return &c;
  }
  return nullptr;
}

}  // namespace iss::api::v1

#endif  // ISS_API_V1_CODES_H_
