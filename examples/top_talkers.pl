#!/usr/bin/perl
# top_talkers.pl - the top hosts by bytes.sent, read from flowcached's ip.* hashes with Debian's Redis.pm.
# usage: top_talkers.pl [--host 127.0.0.1] [--port 6380] [--top 10]
use strict;
use warnings;
use Getopt::Long;
use Redis;

my ($host, $port, $top) = ('127.0.0.1', 6380, 10);
GetOptions('host=s' => \$host, 'port=i' => \$port, 'top=i' => \$top) or die "usage: $0 [--host H] [--port P] [--top N]\n";
my $r = Redis->new(server => "$host:$port");
my (%sent, $cursor);
$cursor = 0;
do {
    my ($next, $keys) = $r->scan($cursor, 'MATCH', 'ip.*', 'COUNT', 1000);
    for my $k (@$keys) {
        my $b = $r->hget($k, 'bytes.sent');
        $sent{substr($k, 3)} = $b if defined $b;
    }
    $cursor = $next;
} while ($cursor ne '0');
my @hosts = sort { $sent{$b} <=> $sent{$a} || $a cmp $b } keys %sent;
splice(@hosts, $top) if @hosts > $top;
printf "%-40s %12s\n", 'host', 'bytes.sent';
printf "%-40s %12d\n", $_, $sent{$_} for @hosts;
$r->quit;
