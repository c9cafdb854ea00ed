<?php
/**
 * A throw-away WordPress site: Debian's WordPress tree copied into a fresh directory, its own
 * database on the shared MariaDB, the plugin and the WooCommerce stand-in installed, served on a
 * free loopback port by `php -S` (4 workers) or, as in production, by Debian's php-fpm (4 static
 * children, opcache on) behind nginx, with or without the extension loaded. With `php -S` the
 * same site can be served by several web servers at once, each on its own port, as a store
 * behind a load balancer is.
 */

declare(strict_types=1);

namespace InventorySync\Tests\Harness;

final class Site
{
    public const ADMIN_USER = 'admin';
    public const ADMIN_PASSWORD = 'admin-password-for-tests';
    public const PLUGIN = 'inventory-sync/inventory-sync.php';
    public const STAND_IN = 'woocommerce-stand-in/woocommerce-stand-in.php';
    /** The wp-config.php constant, and its value, that keep the ledger in the site's database. */
    public const LEDGER_CONSTANT = 'INVENTORY_SYNC_LEDGER';
    public const LEDGER_IN_DATABASE = 'mysql';

    public readonly string $root;
    /** The first web server's base URL (WordPress's URL outside a request: WP-CLI, cron). */
    public readonly string $url;
    /** @var list<string> every web server's base URL, the first being $url */
    public readonly array $urls;
    /** `php` (php -S) or `fpm` (php-fpm behind nginx). */
    public readonly string $server;
    /** @var list<int> the process group of each web server (php -S), or php-fpm's */
    private array $serverPgids = [];
    /** nginx's process group, when served by php-fpm. */
    private int $nginxPgid = 0;
    private ?string $cookieJar = null;

    /**
     * @param array<string, scalar> $constants Extra wp-config.php constants.
     */
    private function __construct(public readonly string $dir, public readonly bool $withExtension, private readonly MariaDb $db, private readonly string $database, private readonly array $constants = [], string $server = 'php', int $servers = 1)
    {
        if (!in_array($server, ['php', 'fpm'], true)) {
            throw new \InvalidArgumentException("server must be php or fpm, not $server");
        }
        if ($servers < 1 || ($servers > 1 && $server !== 'php')) {
            throw new \InvalidArgumentException("servers must be 1, or more with php -S, not $servers with $server");
        }
        $this->server = $server;
        $this->root = $dir . '/wordpress';
        $urls = [];
        for ($i = 0; $i < $servers; $i++) {
            $urls[] = 'http://127.0.0.1:' . Process::freePort();
        }
        $this->urls = $urls;
        $this->url = $urls[0];
    }

    /**
     * wp-config.php constants every site gets unless `constants` says otherwise. The queue kick
     * (a loopback queue run after every change) is off, so tests that run the queue themselves
     * see every job; tests of the kick turn it on. With INVENTORY_SYNC_TEST_LEDGER=mysql in the
     * environment every site also gets INVENTORY_SYNC_LEDGER = 'mysql' (the ledger in its
     * database).
     */
    public const DEFAULT_CONSTANTS = ['INVENTORY_SYNC_QUEUE_KICK' => false];

    /**
     * Builds, installs and starts a site. Options: `server` (`php`: php -S, the default; `fpm`:
     * php-fpm with opcache behind nginx), `servers` (php -S only: how many web servers serve the
     * same WordPress directory and database, each with its own port and process group, default
     * 1; more than one keeps the ledger in the database, which they share, and makes WordPress's
     * URLs follow the server a request was sent to), `extension` (load it, default true),
     * `plugins` to activate (default the stand-in and ours), `constants` for wp-config.php
     * (`{site}` in a string stands for the site directory; added to DEFAULT_CONSTANTS; null
     * leaves one undefined), and `prepare`, a callable given the site directory before WordPress
     * is installed.
     *
     * @param array{server?: 'php'|'fpm', servers?: int, extension?: bool, plugins?: list<string>, constants?: array<string, scalar|null>, prepare?: callable(string): void} $options
     */
    public static function create(MariaDb $db, string $dir, array $options = []): self
    {
        $withExtension = $options['extension'] ?? true;
        $plugins = $options['plugins'] ?? [self::STAND_IN, self::PLUGIN];
        $servers = $options['servers'] ?? 1;
        if ($withExtension && !is_file(Paths::extension())) {
            throw new \RuntimeException('the extension is not built: ' . Paths::extension() . ' (run ./build.sh build)');
        }
        $constants = $options['constants'] ?? [];
        if ($servers > 1) {
            // One ledger file per server would diverge: several servers share the database.
            if (array_key_exists(self::LEDGER_CONSTANT, $constants) && $constants[self::LEDGER_CONSTANT] !== self::LEDGER_IN_DATABASE) {
                throw new \InvalidArgumentException('several servers keep the ledger in the database: ' . self::LEDGER_CONSTANT . ' must be ' . self::LEDGER_IN_DATABASE);
            }
            $constants[self::LEDGER_CONSTANT] = self::LEDGER_IN_DATABASE;
        }
        self::removeTree($dir);
        mkdir($dir, 0755, true);
        $name = 'wp_' . substr(hash('sha256', $dir . microtime()), 0, 12);
        $defaults = self::DEFAULT_CONSTANTS;
        if (getenv('INVENTORY_SYNC_TEST_LEDGER') === self::LEDGER_IN_DATABASE) {
            // Every site keeps its ledger in its own database (a run of the suite on that backend).
            $defaults[self::LEDGER_CONSTANT] = self::LEDGER_IN_DATABASE;
        }
        $site = new self($dir, $withExtension, $db, $db->createDatabase($name), $constants + $defaults, $options['server'] ?? 'php', $servers);
        $site->copyWordPress();
        if (isset($options['prepare'])) {
            ($options['prepare'])($dir);
        }
        $site->writeConfig();
        $site->installPlugins();
        $site->install($plugins);
        try {
            $site->serve();
        } catch (\Throwable $e) {
            $site->stop(); // the servers that did start
            throw $e;
        }
        return $site;
    }

    private function copyWordPress(): void
    {
        [$code, , $err] = Process::run(['cp', '-rL', Paths::wordpress(), $this->root]);
        if ($code !== 0) {
            throw new \RuntimeException("copying WordPress failed: $err");
        }
        @unlink($this->root . '/.htaccess');
    }

    private function writeConfig(): void
    {
        $extra = '';
        foreach ($this->constants as $name => $value) {
            if ($value === null) {
                continue; // null: not defined (e.g. leave a setting to its option)
            }
            // "{site}" in a string constant stands for this site's directory.
            $value = is_string($value) ? str_replace('{site}', $this->dir, $value) : $value;
            $extra .= sprintf("define( %s, %s );\n", var_export($name, true), var_export($value, true));
        }
        $salts = '';
        foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $key) {
            $salts .= sprintf("define( '%s', '%s' );\n", $key, bin2hex(random_bytes(24)));
        }
        $config = sprintf(<<<'PHP'
<?php
define( 'DB_NAME', %s );
define( 'DB_USER', 'root' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', %s );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
%s
$table_prefix = 'wp_';
define( 'WP_HOME', %s );
define( 'WP_SITEURL', WP_HOME );
define( 'DISABLE_WP_CRON', true );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_LOG', %s );
define( 'WP_DEBUG_DISPLAY', false );
define( 'FS_METHOD', 'direct' );
define( 'WP_ENVIRONMENT_TYPE', 'local' );
%s
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
PHP,
            var_export($this->database, true),
            var_export('localhost:' . $this->db->socket, true),
            $salts,
            $this->homeExpression(),
            var_export($this->debugLogPath(), true),
            $extra,
        );
        file_put_contents($this->root . '/wp-config.php', $config);
    }

    /**
     * WP_HOME as PHP code: the site's URL; with several servers the URL of the server a request
     * was sent to (its Host header, when it names one of them), so that redirects, REST URLs and
     * the queue kick's loopback stay on that server. Outside a request (WP-CLI, the harness's
     * scripts) the first server's.
     */
    private function homeExpression(): string
    {
        if (count($this->urls) === 1) {
            return var_export($this->url, true);
        }
        $hosts = array_map(static fn (string $url): string => var_export((string) parse_url($url, PHP_URL_HOST) . ':' . (int) parse_url($url, PHP_URL_PORT), true), $this->urls);
        return sprintf(
            "in_array( \$_SERVER['HTTP_HOST'] ?? '', array( %s ), true ) ? 'http://' . \$_SERVER['HTTP_HOST'] : %s",
            implode(', ', $hosts),
            var_export($this->url, true),
        );
    }

    private function installPlugins(): void
    {
        $plugins = $this->root . '/wp-content/plugins';
        @mkdir($plugins, 0755, true);
        foreach ([Paths::plugin() => 'inventory-sync', Paths::standIn() => 'woocommerce-stand-in'] as $from => $to) {
            [$code, , $err] = Process::run(['cp', '-r', $from, "$plugins/$to"]);
            if ($code !== 0) {
                throw new \RuntimeException("copying $from failed: $err");
            }
        }
        @mkdir($this->root . '/wp-content/mu-plugins', 0755, true);
        copy(Paths::harness() . '/mu-plugins/inventory-sync-harness.php', $this->root . '/wp-content/mu-plugins/inventory-sync-harness.php');
    }

    /** @param list<string> $plugins */
    private function install(array $plugins): void
    {
        $result = $this->cli(Paths::harness() . '/bin/install-wordpress.php', json_encode([
            'title' => 'Inventory Sync Test Store',
            'user' => self::ADMIN_USER,
            'password' => self::ADMIN_PASSWORD,
            'email' => 'admin@example.test',
            'plugins' => $plugins,
        ], JSON_THROW_ON_ERROR));
        if (($result['installed'] ?? false) !== true) {
            throw new \RuntimeException('WordPress install failed: ' . json_encode($result));
        }
    }

    /** php -S for each of the site's URLs (logs: server.log, then server-1.log …), or php-fpm and nginx. */
    private function serve(): void
    {
        if ($this->server === 'fpm') {
            $this->serveFpm();
            return;
        }
        foreach ($this->urls as $i => $url) {
            $port = (int) parse_url($url, PHP_URL_PORT);
            $log = $this->dir . ($i === 0 ? '/server.log' : "/server-$i.log");
            $this->serverPgids[] = Process::start(array_merge(
                ['php'],
                $this->phpIni(),
                ['-S', "127.0.0.1:$port", '-t', $this->root, Paths::harness() . '/router.php'],
            ), $log, ['PHP_CLI_SERVER_WORKERS' => '4']);
            Process::waitForPort($port, 15, 'php -S', $log);
        }
    }

    /**
     * php-fpm (static pool of 4, like php -S's workers; opcache on, timestamps not checked) on a
     * unix socket in the site directory, and nginx in front of it on the site's port — each in
     * its own process group, configured from files in the site directory; the system's services
     * are never touched. nginx takes bodies up to 2 MiB so that the plugin, not nginx, answers
     * an oversized webhook (1 MiB) with its 413.
     */
    private function serveFpm(): void
    {
        $port = (int) parse_url($this->url, PHP_URL_PORT);
        $dir = $this->dir;
        $asRoot = function_exists('posix_geteuid') && posix_geteuid() === 0;
        $socket = "$dir/fpm.sock";
        $fpmConf = "[global]\npid = $dir/fpm.pid\nerror_log = $dir/fpm.log\ndaemonize = no\n\n[site]\n"
            . ($asRoot ? "user = root\ngroup = root\n" : '')
            . "listen = $socket\npm = static\npm.max_children = 4\nclear_env = no\ncatch_workers_output = yes\n"
            . "pm.status_path = /fpm-status\n";
        file_put_contents("$dir/fpm.conf", $fpmConf);
        $ini = array_merge($this->phpIni(), ['-d', 'opcache.enable=1', '-d', 'opcache.validate_timestamps=0', '-d', 'opcache.memory_consumption=128']);
        $this->serverPgids[] = Process::start(array_merge(['php-fpm8.2', '-F', '-y', "$dir/fpm.conf"], $asRoot ? ['-R'] : [], $ini), "$dir/fpm.log");
        $deadline = microtime(true) + 15;
        while (!file_exists($socket) && microtime(true) < $deadline) {
            usleep(20_000);
        }
        if (!file_exists($socket)) {
            throw new \RuntimeException("php-fpm did not start:\n" . @file_get_contents("$dir/fpm.log"));
        }
        @mkdir("$dir/nginx-temp", 0755, true);
        $temp = "$dir/nginx-temp";
        $nginxConf = ($asRoot ? "user root;\n" : '') . <<<NGINX
            worker_processes 2;
            daemon off;
            pid $dir/nginx.pid;
            error_log $dir/nginx-error.log warn;
            events { worker_connections 1024; }
            http {
                include /etc/nginx/mime.types;
                access_log off;
                client_body_temp_path $temp/body;
                fastcgi_temp_path $temp/fastcgi;
                proxy_temp_path $temp/proxy;
                uwsgi_temp_path $temp/uwsgi;
                scgi_temp_path $temp/scgi;
                client_max_body_size 2m;
                server {
                    listen 127.0.0.1:$port;
                    root {$this->root};
                    index index.php;
                    location ~ /\.ht { deny all; }
                    location / { try_files \$uri \$uri/ /index.php\$is_args\$args; }
                    location ~ \.php\$ {
                        try_files \$uri =404;
                        include /etc/nginx/fastcgi_params;
                        fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
                        fastcgi_pass unix:$socket;
                    }
                    location = /fpm-status { include /etc/nginx/fastcgi_params; fastcgi_param SCRIPT_NAME /fpm-status; fastcgi_pass unix:$socket; allow 127.0.0.1; deny all; }
                }
            }
            NGINX;
        file_put_contents("$dir/nginx.conf", $nginxConf);
        $this->nginxPgid = Process::start(['nginx', '-p', $dir, '-c', "$dir/nginx.conf", '-e', "$dir/nginx-error.log"], "$dir/nginx.log");
        Process::waitForPort($port, 15, 'nginx', "$dir/nginx-error.log");
    }

    /** @return list<int> the process groups serving the site (each php -S; or php-fpm and nginx). */
    public function pgids(): array
    {
        return array_values(array_filter([...$this->serverPgids, $this->nginxPgid]));
    }

    /** @return list<string> php -d options for this site's PHP processes. */
    private function phpIni(): array
    {
        $ini = ['-d', 'display_errors=0', '-d', 'log_errors=1', '-d', 'error_log=' . $this->dir . '/php-errors.log', '-d', 'memory_limit=256M'];
        if ($this->withExtension) {
            $ini = array_merge(['-d', 'extension=' . Paths::extension()], $ini);
        }
        return $ini;
    }

    /** Runs a PHP script inside WordPress (wp-load.php) and returns its JSON output decoded. */
    private function cli(string $script, string $stdin = ''): mixed
    {
        [$code, $out, $err] = Process::run(array_merge(['php'], $this->phpIni(), [$script, $this->root]), ['INVENTORY_SYNC_SITE_URL' => $this->url], null, $stdin);
        $decoded = json_decode($out, true);
        if ($code !== 0 || (!is_array($decoded) && $out !== 'null')) {
            throw new \RuntimeException("$script failed ($code):\n$out\n$err");
        }
        return $decoded;
    }

    /**
     * Evaluates PHP code inside this site (as a WP-CLI `eval` would) and returns what it returns,
     * through JSON. The code runs with the same extension setting as the web server.
     */
    public function eval(string $code): mixed
    {
        $result = $this->cli(Paths::harness() . '/bin/wp-eval.php', $code);
        return is_array($result) && array_key_exists('result', $result) ? $result['result'] : null;
    }

    /** Sends a request to the site's web server number $server (0: the first, at $url). */
    public function request(string $method, string $path, array $headers = [], ?string $body = null, bool $withCookies = false, int $server = 0): Response
    {
        if (!isset($this->urls[$server])) {
            throw new \InvalidArgumentException("the site has no server $server");
        }
        return Http::request($method, $this->urls[$server] . $path, $headers, $body, $withCookies ? $this->cookieJar() : null);
    }

    /** Logs in through wp-login.php like a browser; later requests with $withCookies are logged in. */
    public function login(string $user = self::ADMIN_USER, string $password = self::ADMIN_PASSWORD): void
    {
        $this->cookieJar = null;
        $jar = $this->cookieJar();
        Http::request('GET', $this->url . '/wp-login.php', [], null, $jar);
        $response = Http::request('POST', $this->url . '/wp-login.php', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query([
            'log' => $user,
            'pwd' => $password,
            'wp-submit' => 'Log In',
            'redirect_to' => $this->url . '/wp-admin/',
            'testcookie' => '1',
        ]), $jar);
        if ($response->status !== 302 || !str_contains((string) $response->header('location'), '/wp-admin')) {
            throw new \RuntimeException("login as $user failed: HTTP {$response->status}");
        }
    }

    private function cookieJar(): string
    {
        return $this->cookieJar ??= $this->dir . '/cookies-' . bin2hex(random_bytes(4)) . '.txt';
    }

    /** Runs due WP-Cron events the way a system cron does: a request to wp-cron.php. */
    public function runCron(): Response
    {
        // No doing_wp_cron parameter: that one only runs when it matches the lock a spawner set.
        return Http::request('GET', $this->url . '/wp-cron.php');
    }

    /**
     * The e-mails the site sent (the harness must-use plugin keeps them instead of mailing), in
     * order.
     *
     * @return list<array{to: list<string>, subject: string, message: string, headers: mixed, time: float}>
     */
    public function mails(): array
    {
        $lines = @file($this->root . '/wp-content/harness-mails.jsonl', FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) ?: [];
        return array_map(static fn (string $line): array => json_decode($line, true, 512, JSON_THROW_ON_ERROR), $lines);
    }

    private function debugLogPath(): string
    {
        return $this->dir . '/debug.log';
    }

    /** Everything PHP and WordPress logged: notices, warnings, errors. */
    public function rawErrorLog(): string
    {
        return (string) @file_get_contents($this->debugLogPath()) . (string) @file_get_contents($this->dir . '/php-errors.log');
    }

    /**
     * What PHP and WordPress logged, less WordPress 6.1 core's own deprecation notices under
     * PHP 8.2 (raised inside wp-includes/ or wp-admin/, not by our code). Every warning, notice,
     * error, and any deprecation raised in a plugin, stays in.
     */
    public function errorLog(): string
    {
        $core = '#PHP Deprecated: .* in ' . preg_quote($this->root, '#') . '/wp-(includes|admin)/#';
        $lines = array_filter(
            preg_split('/\R/', $this->rawErrorLog()) ?: [],
            static fn (string $line): bool => $line !== '' && !preg_match($core, $line),
        );
        return implode("\n", $lines);
    }

    /** The first web server's process group (php -S, or php-fpm). */
    public function pgid(): int
    {
        return $this->serverPgids[0] ?? 0;
    }

    public function stop(): void
    {
        if ($this->nginxPgid !== 0) {
            Process::stop($this->nginxPgid);
            $this->nginxPgid = 0;
        }
        foreach ($this->serverPgids as $pgid) {
            Process::stop($pgid);
        }
        $this->serverPgids = [];
    }

    private static function removeTree(string $dir): void
    {
        if (is_dir($dir)) {
            Process::run(['rm', '-rf', $dir]);
        }
    }
}
