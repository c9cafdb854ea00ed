<?php
/**
 * Router for `php -S`: real files are served (PHP files executed), everything else goes to
 * WordPress's index.php, as Apache's rewrite rules would do.
 */

$root = rtrim((string) $_SERVER['DOCUMENT_ROOT'], '/');
$path = (string) parse_url((string) $_SERVER['REQUEST_URI'], PHP_URL_PATH);
$file = realpath($root . $path);

// Like Apache with AllowOverride: a directory whose .htaccess says "Require all denied" (or
// "Deny from all") is never served, nor is anything below it.
if ($file !== false && str_starts_with($file, $root)) {
    for ($dir = is_dir($file) ? $file : dirname($file); strlen($dir) >= strlen($root); $dir = dirname($dir)) {
        $htaccess = @file_get_contents($dir . '/.htaccess');
        if ($htaccess !== false && preg_match('/^\s*(Require all denied|Deny from all)\s*$/mi', $htaccess)) {
            http_response_code(403);
            echo 'Forbidden';
            return true;
        }
        if ($dir === $root) {
            break;
        }
    }
}

if ($file !== false && str_starts_with($file, $root)) {
    if (is_dir($file) && is_file($file . '/index.php')) {
        $file .= '/index.php';
        $path = rtrim($path, '/') . '/index.php';
    }
    if (is_file($file)) {
        if (!str_ends_with($file, '.php')) {
            return false; // Static file: let the built-in server send it.
        }
        $_SERVER['SCRIPT_NAME'] = $path;
        $_SERVER['PHP_SELF'] = $path;
        $_SERVER['SCRIPT_FILENAME'] = $file;
        chdir(dirname($file));
        require $file;
        return true;
    }
}

$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['PHP_SELF'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
chdir($root);
require $root . '/index.php';
