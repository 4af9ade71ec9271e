#!/usr/bin/perl
# Black-box test of bin/linesim, the fake LINE platform: starts `linesim
# serve` on a free port with a tiny webhook receiver of our own (a forked
# child that answers 200 and keeps every request it got in a file), then
# drives the Messaging API, the /sim/* control endpoints, `linesim send`
# and `linesim flood`.  Run from the repo root: prove -v tests/integration/sim_api.t
use strict;
use warnings;
use utf8;
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use IO::Socket::INET;
use IO::Select;
use File::Temp qw(tempdir);
use POSIX qw(:sys_wait_h);
use Digest::SHA qw(hmac_sha256_base64);

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $BIN = ($ENV{MADOGUCHI_BIN_DIR} // 'bin') . '/linesim';
-x $BIN or BAIL_OUT("$BIN not built (make bin/linesim)");

my $TOKEN  = 'test-access-token-' . $$;
my $SECRET = 'test-channel-secret-' . $$;
my $USER   = 'U' . ('0123456789abcdef' x 2);
my $USER2  = 'U' . ('fedcba9876543210' x 2);
my $USER3  = 'U' . ('00112233445566778899aabbccddeeff');
my $TTL    = 2;                       # --reply-token-ttl, seconds
my $json   = JSON::PP->new->utf8->canonical;

my $dir = tempdir(CLEANUP => 1);
write_file("$dir/token",  "$TOKEN\n");     # trailing newline must be trimmed
write_file("$dir/secret", "$SECRET \n");

my ($rport, $recv_pid) = start_receiver("$dir/inbox");
my ($port, $sim_pid)   = start_sim();
my $base = "http://127.0.0.1:$port";
my $http = HTTP::Tiny->new(timeout => 20);

END {
    # Never leave processes behind, whatever failed.
    kill 'KILL', $recv_pid if $recv_pid;
    kill 'TERM', $sim_pid  if $sim_pid;
}

# ---------------------------------------------------------------- helpers

sub write_file {
    my ($path, $content) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $content;
    close $fh or die "$path: $!";
}

sub read_file {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    my $s = <$fh>;
    return $s;
}

# The receiver: serial, answers each POST with the status in $inbox/status
# (default 200) after saving the raw request as $inbox/req-NNNNNN.
sub start_receiver {
    my ($inbox) = @_;
    mkdir $inbox or die "$inbox: $!";
    my $ls = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
        Listen => 1024, ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $n = 0;
        while (1) {
            my $c = $ls->accept or next;
            my $req = read_request($c);
            if (defined $req) {
                my $file = sprintf "%s/req-%06d", $inbox, ++$n;
                write_file("$file.tmp", $req);
                rename "$file.tmp", $file;
                my $st = -e "$inbox/status" ? read_file("$inbox/status") : 200;
                $st =~ s/\s+//g;
                print $c "HTTP/1.1 $st X\r\nContent-Length: 2\r\n"
                    . "Connection: close\r\n\r\nok";
            }
            close $c;
        }
    }
    my $port = $ls->sockport;
    close $ls;
    return ($port, $pid);
}

sub read_request {
    my ($c) = @_;
    my $sel = IO::Select->new($c);
    my $buf = '';
    my $need;
    while (1) {
        if (!defined $need && (my $i = index($buf, "\r\n\r\n")) >= 0) {
            my ($len) = substr($buf, 0, $i) =~ /^content-length:\s*(\d+)/mi;
            $need = $i + 4 + ($len // 0);
        }
        return $buf if defined $need && length($buf) >= $need;
        return undef unless $sel->can_read(5);
        my $got = sysread($c, $buf, 65536, length $buf);
        return undef unless $got;
    }
}

sub inbox_files { sort glob("$dir/inbox/req-*") }

# The last webhook received: (headers hashref with lower-case names, raw body)
sub last_webhook {
    my @f = inbox_files();
    return parse_saved($f[-1]);
}

sub parse_saved {
    my ($file) = @_;
    my $raw = read_file($file);
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my %h;
    for (split /\r\n/, $head) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    return (\%h, $body);
}

sub signature_ok {
    my ($h, $body) = @_;
    my $want = hmac_sha256_base64($body, $SECRET);
    $want .= '=' while length($want) % 4;
    return defined $h->{'x-line-signature'} && $h->{'x-line-signature'} eq $want;
}

sub start_sim {
    my $out = "$dir/sim.out";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $out or die;
        open STDERR, '>', "$dir/sim.err" or die;
        exec $BIN, 'serve', '--listen', '127.0.0.1:0',
            '--access-token-file', "$dir/token",
            '--channel-secret-file', "$dir/secret",
            '--webhook-url', "http://127.0.0.1:$rport/webhook/line",
            '--reply-token-ttl', $TTL;
        die "exec $BIN: $!";
    }
    for (1 .. 100) {
        if (-s $out && read_file($out) =~ m{^linesim: listening on http://127\.0\.0\.1:(\d+)$}m) {
            return ($1, $pid);
        }
        last if waitpid($pid, WNOHANG) == $pid;
        select undef, undef, undef, 0.1;
    }
    BAIL_OUT('linesim serve did not start: ' . (-e "$dir/sim.err" ? read_file("$dir/sim.err") : ''));
}

sub api {
    my ($method, $path, $body, %hdr) = @_;
    my %headers = (authorization => "Bearer $TOKEN",
                   'content-type' => 'application/json', %hdr);
    delete $headers{$_} for grep { !defined $headers{$_} } keys %headers;
    my $r = $http->request($method, "$base$path", {
        headers => \%headers,
        (defined $body ? (content => ref $body ? $json->encode($body) : $body) : ()),
    });
    $r->{json} = eval { $json->decode($r->{content}) } if length($r->{content} // '');
    return $r;
}

sub sim {
    my ($method, $path, $body) = @_;
    my $r = $http->request($method, "$base$path", {
        headers => { 'content-type' => 'application/json' },
        (defined $body ? (content => $json->encode($body)) : ()),
    });
    return ($r->{status}, eval { $json->decode($r->{content}) });
}

sub sim_send { my (undef, $j) = sim('POST', '/sim/send', $_[0]); return $j }

sub text_msgs { [ map { { type => 'text', text => $_ } } @_ ] }

sub push_to {
    my ($to, $text, %hdr) = @_;
    return api('POST', '/v2/bot/message/push',
        { to => $to, messages => text_msgs($text) }, %hdr);
}

sub records {
    my ($query) = @_;
    my (undef, $j) = sim('GET', "/sim/messages$query");
    return @{ $j->{requests} };
}

# ---------------------------------------------------------------- tests

subtest 'startup and health' => sub {
    ok($port, "listening line printed, port $port");
    my ($st, $j) = sim('GET', '/sim/health');
    is($st, 200, 'GET /sim/health');
    ok($j->{ok}, 'ok:true');
};

subtest 'bearer token' => sub {
    my $r = api('POST', '/v2/bot/message/push',
        { to => $USER, messages => text_msgs('x') }, authorization => undef);
    is($r->{status}, 401, 'missing Authorization -> 401');
    is($r->{json}{message}, 'Authentication failed. Confirm that the access '
        . 'token in the authorization header is valid.', 'LINE message');
    like($r->{headers}{'x-line-request-id'}, qr/^[0-9a-f]{32}$/, 'x-line-request-id');
    like($r->{headers}{'content-type'}, qr{^application/json}, 'JSON answer');
    $r = push_to($USER, 'x', authorization => "Bearer wrong$TOKEN");
    is($r->{status}, 401, 'wrong token -> 401');
    $r = push_to($USER, 'x', authorization => "Basic $TOKEN");
    is($r->{status}, 401, 'not Bearer -> 401');
};

my $text = "こんにちは、相談です 🙏 \"quoted\" \\ end";
my $sent;
subtest 'sim/send text: LINE-shaped, escaped, signed body' => sub {
    my $before = () = inbox_files();
    $sent = sim_send({ user => $USER, type => 'text', text => $text });
    is($sent->{status}, 200, 'receiver answered 200');
    like($sent->{webhookEventId}, qr/^[0-9A-HJKMNP-TV-Z]{26}$/, 'ULID event id');
    like($sent->{replyToken}, qr/^[0-9a-f]{32}$/, 'reply token');
    like($sent->{messageId}, qr/^[1-9]\d{17}$/, '18-digit message id');
    is(scalar(() = inbox_files()), $before + 1, 'one webhook received');
    my ($h, $body) = last_webhook();
    ok(signature_ok($h, $body), 'x-line-signature = base64(HMAC-SHA256(secret, body))');
    is($h->{'user-agent'}, 'LineBotWebhook/2.0', 'User-Agent');
    like($h->{'content-type'}, qr{^application/json; ?charset=utf-8$}i, 'Content-Type');
    unlike($body, qr/[\x80-\xff]/, 'body is pure ASCII');
    like($body, qr/\\u3053\\u3093/, 'Japanese as \\u escapes');
    like($body, qr/\\uD83D\\uDE4F/, 'emoji as a surrogate pair');
    unlike($body, qr/\n|": /, 'compact JSON');
    my $ev = $json->decode($body)->{events}[0];
    is($ev->{type}, 'message', 'message event');
    is($ev->{mode}, 'active', 'mode');
    like($ev->{timestamp}, qr/^\d{13}$/, 'timestamp in ms');
    is_deeply($ev->{source}, { type => 'user', userId => $USER }, 'source');
    is($ev->{webhookEventId}, $sent->{webhookEventId}, 'same event id');
    ok(!$ev->{deliveryContext}{isRedelivery}, 'isRedelivery false');
    is($ev->{replyToken}, $sent->{replyToken}, 'same reply token');
    is($ev->{message}{type}, 'text', 'text message');
    is($ev->{message}{id}, $sent->{messageId}, 'message id');
    ok(length $ev->{message}{quoteToken}, 'quoteToken');
    is($ev->{message}{text}, $text, 'text round-trips');
};

subtest 'reply' => sub {
    my $body = { replyToken => $sent->{replyToken}, messages => text_msgs('受け付けました') };
    my $r = api('POST', '/v2/bot/message/reply', $body, 'x-line-retry-key' => lc_uuid());
    is($r->{status}, 400, 'X-Line-Retry-Key on reply -> 400');
    $r = api('POST', '/v2/bot/message/reply', $body);
    is($r->{status}, 200, 'issued token -> 200');
    is(scalar @{ $r->{json}{sentMessages} }, 1, 'one sentMessage');
    like($r->{json}{sentMessages}[0]{id}, qr/^\d+$/, 'sentMessages id');
    ok(length $r->{json}{sentMessages}[0]{quoteToken}, 'sentMessages quoteToken');
    $r = api('POST', '/v2/bot/message/reply', $body);
    is($r->{status}, 400, 'reused token -> 400');
    is($r->{json}{message}, 'Invalid reply token', 'Invalid reply token');
    $r = api('POST', '/v2/bot/message/reply',
        { replyToken => 'f' x 32, messages => text_msgs('x') });
    is($r->{status}, 400, 'never issued token -> 400');
    my ($rec) = grep { $_->{requestId} eq $r->{headers}{'x-line-request-id'} } records('');
    ok($rec, 'reply recorded under its request id');
    my @ok = grep { $_->{path} eq '/v2/bot/message/reply' && $_->{status} == 200 }
        records("?user=$USER");
    is(scalar @ok, 1, 'successful reply recorded with the token\'s user');
};

subtest 'reply token expires' => sub {
    my $s = sim_send({ user => $USER, type => 'follow' });
    like($s->{replyToken}, qr/^[0-9a-f]{32}$/, 'follow carries a reply token');
    select undef, undef, undef, $TTL + 0.5;
    my $r = api('POST', '/v2/bot/message/reply',
        { replyToken => $s->{replyToken}, messages => text_msgs('遅い') });
    is($r->{status}, 400, "token older than --reply-token-ttl $TTL -> 400");
};

my $key = lc_uuid();
subtest 'push and retry key' => sub {
    my $r = push_to($USER, 'プッシュ');
    is($r->{status}, 200, 'push -> 200');
    is(scalar @{ $r->{json}{sentMessages} }, 1, 'sentMessages');
    my $first = push_to($USER, 'キー付き', 'x-line-retry-key' => $key);
    is($first->{status}, 200, 'push with retry key -> 200');
    my $again = push_to($USER, 'キー付き', 'x-line-retry-key' => uc $key);
    is($again->{status}, 409, 'same key again -> 409');
    is($again->{json}{message}, 'The retry key is already accepted', '409 message');
    is($again->{headers}{'x-line-accepted-request-id'},
        $first->{headers}{'x-line-request-id'}, 'x-line-accepted-request-id');
    is_deeply($again->{json}{sentMessages}, $first->{json}{sentMessages},
        '409 repeats the first sentMessages');
    $r = push_to($USER, 'x', 'x-line-retry-key' => 'not-a-uuid');
    is($r->{status}, 400, 'malformed retry key -> 400');
    $r = api('POST', '/v2/bot/message/push', { messages => text_msgs('x') });
    is($r->{status}, 400, 'missing to -> 400');
    is($r->{json}{details}[0]{property}, 'to', 'details name "to"');
    $r = api('POST', '/v2/bot/message/push', '{not json');
    is($r->{status}, 400, 'broken JSON -> 400');
};

subtest 'validation' => sub {
    my $r = api('POST', '/v2/bot/message/push',
        { to => $USER, messages => text_msgs(('x') x 6) });
    is($r->{status}, 400, '6 messages -> 400');
    ok((grep { $_->{property} eq 'messages' } @{ $r->{json}{details} }),
        'details property messages');
    $r = api('POST', '/v2/bot/message/push', { to => $USER, messages => [] });
    is($r->{status}, 400, '0 messages -> 400');
    $r = push_to($USER, 'あ' x 5001);
    is($r->{status}, 400, '5001-character text -> 400');
    like($r->{json}{message}, qr/error/, 'validation message');
    is_deeply([ map { $_->{property} } @{ $r->{json}{details} } ],
        ['messages[0].text'], 'details property messages[0].text');
    ok(length $r->{json}{details}[0]{message}, 'details message');
    is(push_to($USER, 'あ' x 5000)->{status}, 200, '5000 characters -> 200');
    is(push_to($USER, '😀' x 2500)->{status}, 200, '2500 emoji = 5000 UTF-16 units -> 200');
    is(push_to($USER, '😀' x 2501)->{status}, 400, '2501 emoji = 5002 UTF-16 units -> 400');
    $r = api('POST', '/v2/bot/message/push', { to => $USER, messages => [{ text => 'x' }] });
    is($r->{json}{details}[0]{property}, 'messages[0].type', 'type required');

    # A buttons template as LINE takes it: altText, text (160), 1..4
    # actions, a uri action's label (20) and scheme.
    my $button = sub {
        my (%o) = @_;
        return { type => 'template', altText => $o{alt} // 'ボタン',
            template => { type => 'buttons', text => $o{text} // '開いてください',
                actions => $o{actions} // [ { type => 'uri',
                    label => $o{label} // '相談をはじめる',
                    uri => $o{uri} // 'https://desk.example.jp/chat/link/x' } ] } };
    };
    $r = api('POST', '/v2/bot/message/push', { to => $USER, messages => [ $button->() ] });
    is($r->{status}, 200, 'a buttons template -> 200');
    my %bad = (
        'messages[0].template.actions[0].label' => $button->(label => 'あ' x 21),
        'messages[0].template.text' => $button->(text => 'あ' x 161),
        'messages[0].altText' => $button->(alt => 'あ' x 401),
        'messages[0].template.actions' => $button->(actions => []),
        'messages[0].template.actions[0].uri' => $button->(uri => 'javascript:alert(1)'),
    );
    for my $prop (sort keys %bad) {
        $r = api('POST', '/v2/bot/message/push', { to => $USER, messages => [ $bad{$prop} ] });
        is_deeply([ $r->{status}, map { $_->{property} } @{ $r->{json}{details} // [] } ],
            [ 400, $prop ], "buttons template: $prop refused");
    }
    $r = api('POST', '/v2/bot/chat/loading/start', { chatId => $USER, loadingSeconds => 7 });
    is($r->{status}, 400, 'loadingSeconds 7 -> 400');
    $r = api('POST', '/v2/bot/chat/loading/start', { chatId => $USER, loadingSeconds => 20 });
    is($r->{status}, 202, 'loading start -> 202');
    is_deeply($r->{json}, {}, 'loading answer {}');
    $r = api('POST', '/v2/bot/chat/markAsRead', { markAsReadToken => 'abc' });
    is($r->{status}, 200, 'markAsRead -> 200');
};

subtest 'faults: 429 twice then 200' => sub {
    my ($st, $j) = sim('POST', '/sim/faults',
        { status => 429, count => 2, path => '/v2/bot/message/push' });
    is($st, 200, 'fault queued');
    is($j->{faults}[0]{remaining}, 2, 'listed with remaining 2');
    is(api('GET', "/v2/bot/profile/$USER")->{status}, 200,
        'other paths are not affected');
    my @st = map { push_to($USER2, "fault $_")->{status} } 1 .. 3;
    is_deeply(\@st, [429, 429, 200], 'push: 429, 429, 200');
    my @rec = records("?user=$USER2&path=/v2/bot/message/push");
    is_deeply([ map { $_->{status} } @rec[-3 .. -1] ], [429, 429, 200],
        'faulted calls recorded with their status');
    (undef, $j) = sim('GET', '/sim/faults');
    is_deeply($j->{faults}, [], 'fault used up');
    sim('POST', '/sim/faults', { status => 500, count => 5 });
    sim('DELETE', '/sim/faults');
    is(push_to($USER2, 'after clear')->{status}, 200, 'DELETE /sim/faults clears');
    ($st) = sim('POST', '/sim/faults', { status => 200 });
    is($st, 400, 'non-error status refused');
    sim('POST', '/sim/faults', { status => 403 });
    my $r = push_to($USER2, 'x');
    is($r->{status}, 403, '403 fault');
    is($r->{json}{message}, 'Access to this API is not available for your account',
        '403 LINE message');
    sim('POST', '/sim/faults', { status => 500 });
    $r = push_to($USER2, 'x');
    is_deeply([ $r->{status}, $r->{json}{message} ], [500, 'Internal server error'], '500 fault');
};

subtest 'fault with accept: answer lost, retry gets 409' => sub {
    my $k = lc_uuid();
    sim('POST', '/sim/faults', { status => 500, accept => JSON::PP::true,
        path => '/v2/bot/message/push' });
    my $r = push_to($USER2, 'accepted but 500', 'x-line-retry-key' => $k);
    is($r->{status}, 500, 'client sees 500');
    my $retry = push_to($USER2, 'accepted but 500', 'x-line-retry-key' => $k);
    is($retry->{status}, 409, 'retry with the same key -> 409');
    is($retry->{headers}{'x-line-accepted-request-id'},
        $r->{headers}{'x-line-request-id'}, 'accepted id is the 500 call');
};

subtest 'hang' => sub {
    sim('POST', '/sim/faults', { status => 'hang', path => '/v2/bot/message/push' });
    my $impatient = HTTP::Tiny->new(timeout => 1);
    my $t0 = time;
    my $r = $impatient->request('POST', "$base/v2/bot/message/push", {
        headers => { authorization => "Bearer $TOKEN", 'content-type' => 'application/json' },
        content => $json->encode({ to => $USER3, messages => text_msgs('hang') }) });
    is($r->{status}, 599, 'client timed out (no answer)');
    ok(time - $t0 < 5, 'within the client timeout');
    my $held = 1;
    for (1 .. 50) {
        my (undef, $j) = sim('GET', '/sim/health');
        last if ($held = $j->{held}) == 0;
        select undef, undef, undef, 0.1;
    }
    is($held, 0, 'held connection released after the client closed');
    is(push_to($USER3, 'after hang')->{status}, 200, 'simulator still serves');
    my @rec = records("?user=$USER3");
    is_deeply([ map { $_->{status} } @rec ], [0, 200], 'hang recorded with status 0');
};

subtest '/sim/messages filters' => sub {
    my @all = records('');
    ok(@all > 10, 'log has entries');
    my @seq = map { $_->{seq} } @all;
    is_deeply(\@seq, [ sort { $a <=> $b } @seq ], 'oldest first');
    for my $f (qw(seq time method path status user retryKey requestId delivered body)) {
        ok(exists $all[-1]{$f}, "entry has $f");
    }
    like($all[-1]{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'ISO-8601 time');
    my @u3 = records("?user=$USER3");
    ok(@u3 == 2 && !grep({ $_->{user} ne $USER3 } @u3), 'user filter');
    my @push = records('?path=/v2/bot/message/push');
    ok(@push && !grep({ $_->{path} ne '/v2/bot/message/push' } @push), 'path filter');
    my ($k) = grep { ($_->{retryKey} // '') eq $key } @push;
    ok($k, 'retryKey recorded');
    is($k->{body}{messages}[0]{text}, 'キー付き', 'parsed body recorded');
    my @since = records("?since=$seq[-2]");
    is(scalar @since, 1, 'since filter');
};

subtest 'redelivery' => sub {
    my $r = sim_send({ redeliver => $sent->{webhookEventId} });
    is($r->{status}, 200, 'redelivered');
    is($r->{webhookEventId}, $sent->{webhookEventId}, 'same webhookEventId');
    is($r->{replyToken}, $sent->{replyToken}, 'same replyToken');
    my ($h, $body) = last_webhook();
    ok(signature_ok($h, $body), 're-signed');
    my $ev = $json->decode($body)->{events}[0];
    ok($ev->{deliveryContext}{isRedelivery}, 'isRedelivery true');
    is($ev->{webhookEventId}, $sent->{webhookEventId}, 'body keeps the event id');
    is($ev->{message}{text}, $text, 'body keeps the text');
    like($body, qr/\\uD83D\\uDE4F/, 'escapes kept');
    my ($st) = sim('POST', '/sim/send', { redeliver => '01ZZZZZZZZZZZZZZZZZZZZZZZZ' });
    is($st, 404, 'unknown event id -> 404');
};

subtest 'follow, unfollow, profile' => sub {
    is(api('GET', "/v2/bot/profile/$USER3")->{status}, 404, 'never seen -> 404');
    my $s = sim_send({ user => $USER3, type => 'follow', displayName => '山田' });
    is($s->{status}, 200, 'follow sent');
    my ($h, $body) = last_webhook();
    is_deeply($json->decode($body)->{events}[0]{follow}, { isUnblocked => JSON::PP::false },
        'follow.isUnblocked false');
    my $r = api('GET', "/v2/bot/profile/$USER3");
    is($r->{status}, 200, 'profile after follow');
    is_deeply($r->{json}, { displayName => '山田', userId => $USER3, language => 'ja' },
        'profile body');
    $s = sim_send({ user => $USER3, type => 'unfollow' });
    is($s->{replyToken}, undef, 'unfollow has no reply token');
    ($h, $body) = last_webhook();
    ok(!exists $json->decode($body)->{events}[0]{replyToken}, 'no replyToken in body');
    $r = api('GET', "/v2/bot/profile/$USER3");
    is($r->{status}, 404, 'profile after unfollow -> 404');
    is($r->{json}{message}, 'Not found', '404 message');
    $r = push_to($USER3, 'blocked');
    is($r->{status}, 200, 'push to blocked user -> 200 like LINE');
    my @rec = records("?user=$USER3&path=/v2/bot/message/push");
    ok(!$rec[-1]{delivered}, 'recorded delivered:false');
    ok($rec[-2]{delivered}, 'earlier push was delivered:true');
    sim_send({ user => $USER3, type => 'follow', unblocked => JSON::PP::true });
    is(api('GET', "/v2/bot/profile/$USER3")->{status}, 200, 'unblocked -> profile again');
};

subtest 'quota counts delivered pushes only' => sub {
    my $r = api('GET', '/v2/bot/message/quota');
    is_deeply([ $r->{status}, $r->{json} ], [200, { type => 'none' }], 'quota');
    my $usage = sub { api('GET', '/v2/bot/message/quota/consumption')->{json}{totalUsage} };
    my $before = $usage->();
    like($before, qr/^\d+$/, 'totalUsage');
    api('POST', '/v2/bot/message/push', { to => $USER, messages => text_msgs('one', 'two') });
    is($usage->(), $before + 2, 'push of 2 messages counts 2');
    my $s = sim_send({ user => $USER, type => 'text' });
    api('POST', '/v2/bot/message/reply',
        { replyToken => $s->{replyToken}, messages => text_msgs('free') });
    is($usage->(), $before + 2, 'replies are free');
};

subtest 'other event types' => sub {
    my %want = (image => 'contentProvider', video => 'duration', audio => 'duration',
        file => 'fileName', location => 'latitude', sticker => 'stickerId');
    for my $t (sort keys %want) {
        my $s = sim_send({ user => $USER, type => $t });
        my ($h, $body) = last_webhook();
        my $m = $json->decode($body)->{events}[0]{message};
        ok($m->{type} eq $t && exists $m->{$want{$t}} && $m->{id} eq $s->{messageId},
            "$t message with $want{$t}");
        unlike($body, qr/[\x80-\xff]/, "$t body is ASCII");
    }
    my $img = sim_send({ user => $USER, type => 'image' });
    my $s = sim_send({ user => $USER, type => 'unsend' });
    my ($h, $body) = last_webhook();
    is($json->decode($body)->{events}[0]{unsend}{messageId}, $img->{messageId},
        'unsend defaults to the user\'s last message');
    my ($st, $j) = sim('POST', '/sim/send', { user => 'Ubad', type => 'text' });
    is($st, 400, 'malformed user id refused');
};

subtest 'signature modes, raw bodies, receiver status' => sub {
    sim_send({ user => $USER, type => 'text', text => 'bad', signature => 'bad' });
    my ($h, $body) = last_webhook();
    ok(defined $h->{'x-line-signature'} && !signature_ok($h, $body), 'wrong signature');
    sim_send({ user => $USER, type => 'text', signature => 'none' });
    ($h) = last_webhook();
    ok(!exists $h->{'x-line-signature'}, 'no signature header');
    my $s = sim_send({ raw => { destination => $USER, events => [] } });
    ($h, $body) = last_webhook();
    is($body, qq({"destination":"$USER","events":[]}), 'raw JSON sent as given');
    ok(signature_ok($h, $body), 'raw body signed');
    is($s->{webhookEventId}, undef, 'no event id for an empty raw body');
    sim_send({ raw => '{"events":[' });
    (undef, $body) = last_webhook();
    is($body, '{"events":[', 'raw string sent byte for byte');
    write_file("$dir/inbox/status", "500\n");
    $s = sim_send({ user => $USER, type => 'text' });
    is($s->{status}, 500, 'receiver status passed through');
    unlink "$dir/inbox/status";
};

subtest 'content endpoints answer 404 but are recorded' => sub {
    my $r = api('GET', '/v2/bot/message/512345678901234567/content');
    is($r->{status}, 404, 'content -> 404');
    $r = api('GET', '/v2/bot/message/512345678901234567/content/preview');
    is($r->{status}, 404, 'preview -> 404');
    my @rec = records('?path=/v2/bot/message/512345678901234567/content');
    is(scalar @rec, 1, 'content GET recorded');
    is($rec[0]{method}, 'GET', 'method recorded');
    is(api('GET', '/v2/bot/nonexistent')->{status}, 404, 'unknown path -> 404');
};

subtest 'DELETE /sim/messages' => sub {
    my ($st) = sim('DELETE', '/sim/messages');
    is($st, 200, 'cleared');
    is(scalar(records('')), 0, 'log empty');
    push_to($USER, 'x');
    my @r = records('');
    is(scalar @r, 1, 'new entries recorded after clear');
    ok($r[0]{seq} > 1, 'seq keeps counting');
};

subtest 'linesim send CLI' => sub {
    my $cmd = "$BIN send --sim $base --user $USER --text 'こんにちは' 2>&1";
    utf8::encode($cmd);                 # the shell gets UTF-8 bytes
    my $out = `$cmd`;
    is($? >> 8, 0, 'exit 0 on 2xx');
    like($out, qr/^status=200 webhookEventId=[0-9A-Z]{26} replyToken=[0-9a-f]{32}/,
        'one summary line');
    write_file("$dir/inbox/status", "503\n");
    $out = `$BIN send --sim $base --user $USER --image 2>&1`;
    is($? >> 8, 1, 'exit 1 when madoguchid answers non-2xx');
    like($out, qr/^status=503 /, 'status shown');
    unlink "$dir/inbox/status";
    $out = `$BIN send --sim $base --unfollow --user $USER2 2>&1`;
    like($out, qr/replyToken=-$/m, 'no reply token for unfollow');
    system("$BIN send --text a --image >/dev/null 2>&1");
    is($? >> 8, 2, 'two kinds -> usage error 2');
    system("$BIN bogus >/dev/null 2>&1");
    is($? >> 8, 2, 'unknown subcommand -> 2');
    $out = `$BIN help`;
    like($out, qr/serve.*send.*flood/s, 'help lists subcommands');
};

subtest 'linesim flood' => sub {
    my $before = () = inbox_files();
    my $out = `$BIN flood --webhook-url http://127.0.0.1:$rport/webhook/line --channel-secret-file $dir/secret --count 40 --concurrency 8 --users 5 2>/dev/null`;
    is($? >> 8, 0, 'exit 0');
    is($out, "sent=40 2xx=40 non2xx=0 errors=0\n", 'summary line');
    my @new = (inbox_files())[$before .. $before + 39];
    my (%ids, %users, $good);
    for my $f (grep { defined } @new) {
        my ($h, $body) = parse_saved($f);
        $good++ if signature_ok($h, $body);
        my $ev = $json->decode($body)->{events}[0];
        $ids{ $ev->{webhookEventId} }++;
        $users{ $ev->{source}{userId} }++;
    }
    is($good, 40, 'all 40 signed correctly');
    is(scalar keys %ids, 40, 'distinct webhookEventIds');
    is(scalar keys %users, 5, 'spread over 5 users');
    $out = `$BIN flood --webhook-url $base/sim/nothing-here --channel-secret-file $dir/secret --count 20 --concurrency 20 2>/dev/null`;
    is($? >> 8, 1, 'exit 1 when not all 2xx');
    is($out, "sent=20 2xx=0 non2xx=20 errors=0\n", 'non2xx counted');
};

subtest 'SIGTERM' => sub {
    kill 'TERM', $sim_pid;
    my $got = 0;
    for (1 .. 100) {
        last if ($got = waitpid($sim_pid, WNOHANG)) == $sim_pid;
        select undef, undef, undef, 0.1;
    }
    is($got, $sim_pid, 'exited');
    is($?, 0, 'exit status 0');
    undef $sim_pid;
};

done_testing();

sub lc_uuid {
    my @h = map { sprintf '%04x', int rand 65536 } 1 .. 8;
    return "$h[0]$h[1]-$h[2]-$h[3]-$h[4]-$h[5]$h[6]$h[7]";
}
