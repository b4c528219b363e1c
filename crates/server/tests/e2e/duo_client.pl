#!/usr/bin/perl
# Drives countersign's Duo-compatible API with Net::Duo (Debian's libnet-duo-perl), a Duo
# client library no one here wrote (crates/server/tests/e2e/duo.rs). Prints one JSON line
# per answer; a Net::Duo exception is printed as {"error": "..."}.
#
# Usage: duo_client.pl IKEY SKEY HOST CAFILE COMMAND [ARGS...]
#   check | preauth USER | push_async USER | passcode USER CODE | enroll USER
#   | enroll_status USER_ID ACTIVATION_CODE | sms USER | phone USER
use strict;
use warnings;
use JSON::PP;
use LWP::UserAgent;
use Net::Duo::Auth;

my ($ikey, $skey, $host, $ca, $cmd, @args) = @ARGV;
$| = 1;
my $json = JSON::PP->new->canonical;
my $ua   = LWP::UserAgent->new(ssl_opts => { SSL_ca_file => $ca, verify_hostname => 1 }, timeout => 60);
my $duo  = Net::Duo::Auth->new(
    { integration_key => $ikey, secret_key => $skey, api_hostname => $host, user_agent => $ua });

sub say_json { print $json->encode($_[0]), "\n" }

eval {
    if ($cmd eq 'check') {
        say_json({ time => $duo->check });
    } elsif ($cmd eq 'preauth') {
        say_json($duo->call_json('POST', '/auth/v2/preauth', { username => $args[0] }));
    } elsif ($cmd eq 'push_async') {
        my $tx = $duo->auth_async(
            { username => $args[0], factor => 'push', pushinfo => [ 'from', 'Net::Duo', 'host', 'test' ] });
        say_json({ txid => $tx->id });
        for (1 .. 30) {
            my ($status, $data) = $tx->status;
            say_json({ result => $status, %{$data} });
            last if $status ne 'waiting';
        }
    } elsif ($cmd eq 'passcode') {
        my ($ok, $data) = $duo->auth({ username => $args[0], factor => 'passcode', passcode => $args[1] });
        say_json({ ok => ($ok ? 1 : 0), %{$data} });
    } elsif ($cmd eq 'sms') {
        $duo->send_sms_passcodes($args[0]);
        say_json({ sent => 1 });
    } elsif ($cmd eq 'phone') {
        my ($ok, $data) = $duo->auth({ username => $args[0], factor => 'phone' });
        say_json({ ok => ($ok ? 1 : 0), %{$data} });
    } elsif ($cmd eq 'enroll') {
        say_json($duo->call_json('POST', '/auth/v2/enroll', { username => $args[0], valid_secs => 600 }));
    } elsif ($cmd eq 'enroll_status') {
        say_json({ status => $duo->call_json('POST', '/auth/v2/enroll_status',
            { user_id => $args[0], activation_code => $args[1] }) });
    } else {
        die "unknown command $cmd\n";
    }
    1;
} or do {
    my $e = "$@";
    $e =~ s/\s+\z//;
    say_json({ error => $e });
};
