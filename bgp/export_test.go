package bgp

// MD5Unavailable lets the external tests pick what to expect from this kernel.
var MD5Unavailable = md5Unavailable
