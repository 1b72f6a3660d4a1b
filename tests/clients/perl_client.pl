#!/usr/bin/perl
# perl_client.pl - Perl's Redis module (libredis-perl) against flowcached: read keys, SCAN, receive a PUBLISH.
# usage: perl_client.pl <port> <hash-key> <string-key> <channel>; prints READY, then one JSON line; exit 0.
use strict;
use warnings;
use Redis;
use JSON::PP;

my ($port, $hkey, $skey, $channel) = @ARGV;
alarm 20;
my $r = Redis->new(server => "127.0.0.1:$port", reconnect => 0);
my %h = $r->hgetall($hkey);
my %out = (hgetall => \%h, get => scalar $r->get($skey), type => scalar $r->type($hkey),
           ttl => scalar $r->ttl($hkey), dbsize => scalar $r->dbsize);
my ($cursor, %keys) = (0);
do {
    my ($next, $batch) = $r->scan($cursor, 'COUNT', 100);
    $keys{$_} = 1 for @$batch;
    $cursor = $next;
} while ($cursor ne '0');
$out{scan} = scalar keys %keys;
$r->multi;
$r->get($skey);
$r->hget($hkey, 'bytes.sent');
$out{pipeline} = [ $r->exec ];

my $sub = Redis->new(server => "127.0.0.1:$port", reconnect => 0);
my $got;
$sub->subscribe($channel, sub { my ($msg, $topic) = @_; $got = [$topic, $msg]; });
$| = 1;
print "READY\n";
$sub->wait_for_messages(0.5) until $got;
$out{message} = $got;
print JSON::PP->new->canonical->encode(\%out), "\n";
$sub->quit;      # Perl Redis sends QUIT even while subscribed
$r->quit;
