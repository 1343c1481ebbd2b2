package s3

import (
	"strings"
	"testing"
)

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want endpoint
		loc  string // canonical form; empty: the input
	}{
		{"s3:http://127.0.0.1:9000/bucket", endpoint{host: "127.0.0.1:9000", bucket: "bucket"}, ""},
		{"s3:https://minio.example.org/bucket/a/b/", endpoint{host: "minio.example.org", secure: true, bucket: "bucket", prefix: "a/b/"}, "s3:https://minio.example.org/bucket/a/b"},
		{"s3:my-bucket", endpoint{host: awsEndpoint, secure: true, aws: true, bucket: "my-bucket"}, ""},
		{"s3:my-bucket/hosts/web1", endpoint{host: awsEndpoint, secure: true, aws: true, bucket: "my-bucket", prefix: "hosts/web1/"}, ""},
		// restic's forms: a host without a scheme is https.
		{"s3:s3.amazonaws.com/my-bucket", endpoint{host: awsEndpoint, secure: true, aws: true, bucket: "my-bucket"}, "s3:my-bucket"},
		{"s3:s3.amazonaws.com/my.dotted.bucket/a", endpoint{host: awsEndpoint, secure: true, aws: true, bucket: "my.dotted.bucket", prefix: "a/"}, "s3:my.dotted.bucket/a"},
		{"s3:s3.eu-west-1.amazonaws.com/bk1/x", endpoint{host: "s3.eu-west-1.amazonaws.com", secure: true, aws: true, bucket: "bk1", prefix: "x/"}, "s3:https://s3.eu-west-1.amazonaws.com/bk1/x"},
		{"s3:minio.example.org/bucket", endpoint{host: "minio.example.org", secure: true, bucket: "bucket"}, "s3:https://minio.example.org/bucket"},
		{"s3:minio.example.org:9000/bucket/host/web1/", endpoint{host: "minio.example.org:9000", secure: true, bucket: "bucket", prefix: "host/web1/"}, "s3:https://minio.example.org:9000/bucket/host/web1"},
		{"s3:127.0.0.1:9000/bucket", endpoint{host: "127.0.0.1:9000", secure: true, bucket: "bucket"}, "s3:https://127.0.0.1:9000/bucket"},
		{"s3:localhost/bucket", endpoint{host: "localhost", secure: true, bucket: "bucket"}, "s3:https://localhost/bucket"},
	} {
		got, err := parseLocation(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parse %q: got %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		loc := tc.loc
		if loc == "" {
			loc = tc.in
		}
		if got.String() != loc {
			t.Errorf("parse %q: location %q, want %q", tc.in, got.String(), loc)
		}
	}
}

func TestParseLocationRefuses(t *testing.T) {
	for _, in := range []string{
		"bucket", "s3:", "s3:http://host:9000", "s3:http://host:9000/", "s3:ftp://host/bucket",
		"s3:http://host/Bad_Bucket", "s3:Bad_Bucket", "s3:http://host/bucket/a//b",
		"s3:http://host/bucket/../x", "s3:http://host/bucket?x=1",
		"s3:https://AKIAEXAMPLE:s3cr3t@host/bucket",
		"s3:AKIAEXAMPLE:s3cr3t@host.example/bucket", "s3:minio.example.org:9000", "s3:minio.example.org/",
		"s3:s3.amazonaws.com/Bad_Bucket",
	} {
		_, err := parseLocation(in)
		if err == nil {
			t.Errorf("parse %q: no error", in)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("parse %q: the error shows the secret: %v", in, err)
		}
	}
}

func TestRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-3")
	aws, _ := parseLocation("s3:bucket")
	other, _ := parseLocation("s3:http://127.0.0.1/bucket")
	if got := aws.region(""); got != "eu-west-3" {
		t.Errorf("aws region from AWS_DEFAULT_REGION: got %q", got)
	}
	t.Setenv("AWS_REGION", "us-west-2")
	if got := aws.region(""); got != "us-west-2" {
		t.Errorf("aws region: AWS_REGION comes first, got %q", got)
	}
	if got := aws.region("ap-south-1"); got != "ap-south-1" {
		t.Errorf("aws region: the option comes first, got %q", got)
	}
	if got := other.region(""); got != "" {
		t.Errorf("other servers: got %q, want none (asked from the server)", got)
	}
}
