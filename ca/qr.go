package ca

import (
	"net/url"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// ITAKQuickConnect returns the text of iTAK's quick-connect QR code:
// "DESCRIPTION,HOST,PORT,ssl". iTAK splits it on commas, so commas in the description
// become spaces.
func ITAKQuickConnect(description, host string, port int) string {
	if port == 0 {
		port = DefaultPort
	}
	description = strings.Join(strings.Fields(strings.ReplaceAll(description, ",", " ")), " ")
	if description == "" {
		description = "bluehelm"
	}
	return description + "," + host + "," + strconv.Itoa(port) + ",ssl"
}

// ATAKEnrollURL returns the text of ATAK's enrollment QR code. ATAK then asks the
// server's enrollment endpoint (port 8446) for a certificate with these credentials;
// the URL has no port parameter, so 8089/8446 are implied.
func ATAKEnrollURL(host, username, token string) string {
	// Built by hand rather than with url.Values.Encode, which sorts the parameters:
	// every published example has host, username, token in this order.
	return "tak://com.atakmap.app/enroll?host=" + queryEscape(host) +
		"&username=" + queryEscape(username) + "&token=" + queryEscape(token)
}

// QR renders text as a QR code in PNG form, 512 pixels square with medium error
// correction (15%: survives a scratched printout or a glare on a screen).
func QR(text string) ([]byte, error) {
	return qrcode.Encode(text, qrcode.Medium, 512)
}

// queryEscape escapes a query value with %20 for spaces: "+" means a space to some
// URI parsers and a plus sign to others, and a token may contain either.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
